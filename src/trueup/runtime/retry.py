"""Exponential backoff with jitter that honours the remote system's Retry-After, and a ceiling after which
a record stops retrying and becomes an exception a person sees."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from trueup.model.exceptions import Reason
from trueup.model.work import Band, Park, Problem, Retry


@dataclass
class RetryPolicy:
    base_seconds: float = 2.0
    max_seconds: float = 600.0
    max_attempts: int = 8
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempts: int, retry_after: float | None) -> float:
        backoff = min(self.max_seconds, self.base_seconds * 2.0 ** min(max(0, attempts - 1), 60))
        jittered = backoff * (0.5 + self.rng.random() / 2)  # spread retries so they do not stampede
        return max(jittered, min(retry_after or 0.0, self.max_seconds))

    def settle(self, outcome: Retry, now: datetime) -> Retry | Park:
        if outcome.job.attempts >= self.max_attempts:
            problem = Problem.of(
                Reason.ERP_UNAVAILABLE,
                f"{outcome.job.key}: still failing after {outcome.job.attempts} attempts; last error: "
                f"{outcome.error}.",
            )
            return Park(outcome.job, problem, band=Band.RETRIABLE)
        at = now + timedelta(seconds=self.delay(outcome.job.attempts, outcome.retry_after))
        return Retry(outcome.job, outcome.error, outcome.retry_after, at, outcome.band)
