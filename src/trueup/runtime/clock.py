"""Time, injected: the engine asks a clock, so tests can move it instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        """Naive UTC, the form every stored time takes."""
        return datetime.now(UTC).replace(tzinfo=None)
