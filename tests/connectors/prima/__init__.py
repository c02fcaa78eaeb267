"""Tests for the Prima connector and its emulator."""
