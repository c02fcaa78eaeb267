"""Flows: observe → plan (pure) → apply → record. They receive ports and never import connectors."""
