"""A circuit breaker per system, so that a daemon waits out an outage instead of dying of it or hammering.

Closed: calls go through. After `threshold` failures in a row it opens: nothing is tried until a cool-down
(exponential with jitter, honouring Retry-After, capped at the retry policy's ceiling) has passed; then one
call probes it (half-open). A success closes it. Every change of state is an event (`{"event": "health"}`
in the jsonl progress) and a log line, so an outage shows without reading tracebacks.

Waiting is always cut short by the stop event: a signal stops the daemon within seconds, outage or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from trueup.runtime.retry import RetryPolicy

log = logging.getLogger("trueup.health")

CLOSED, OPEN = "ok", "down"


class Breaker:
    def __init__(
        self,
        system: str,
        policy: RetryPolicy,
        on_event: Callable[[dict[str, object]], None],
        *,
        activity: str = "",
        threshold: int = 3,
    ) -> None:
        self.system = system
        self.activity = activity
        self.policy = policy
        self.on_event = on_event
        self.threshold = threshold
        self.failures = 0
        self.last_error = ""
        self.open_until = 0.0  # monotonic; 0 when closed

    @property
    def state(self) -> str:
        return OPEN if self.failures >= self.threshold else CLOSED

    @property
    def is_open(self) -> bool:
        return self.state == OPEN

    def failure(self, error: str, retry_after: float | None = None) -> float:
        """Count one failure; returns how long to wait before the next try."""
        was = self.state
        self.failures += 1
        self.last_error = error
        delay = self.policy.delay(self.failures, retry_after)
        if self.state == OPEN:
            self.open_until = time.monotonic() + delay
            if was != OPEN:
                log.warning(
                    "%s is down for %s (%d failures in a row), trying again in %.1f s: %s",
                    self.system,
                    self.activity,
                    self.failures,
                    delay,
                    error,
                )
            self._health(delay)
        return delay

    def success(self) -> None:
        if self.state == OPEN:
            log.warning("%s is back for %s after %d failures", self.system, self.activity, self.failures)
            self.failures = 0
            self._health(0.0)
        self.failures = 0
        self.open_until = 0.0

    def remaining(self) -> float:
        return max(0.0, self.open_until - time.monotonic()) if self.is_open else 0.0

    async def wait(self, stop: asyncio.Event, seconds: float | None = None) -> bool:
        """Sleep `seconds` (default: what is left of the cool-down) unless stopped; False if stopped."""
        delay = self.remaining() if seconds is None else seconds
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
        return not stop.is_set()

    def _health(self, retry_in: float) -> None:
        self.on_event(
            {
                "event": "health",
                "system": self.system,
                "activity": self.activity,
                "state": self.state,
                "failures": self.failures,
                "error": self.last_error,
                "retry_in_seconds": round(retry_in, 3),
            }
        )
