"""The retry policy: exponential backoff with jitter, never sooner than the remote system's Retry-After (up to
the ceiling), and a record that has used up its attempts becomes an `erp_unavailable` exception."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trueup.model.exceptions import REASONS, Reason
from trueup.model.work import Band, Job, Park, Retry
from trueup.runtime.retry import RetryPolicy

NOW = datetime(2026, 11, 23, 9, 0, 0)


class FixedRandom(random.Random):
    """A random source pinned to one value, to reach the ends of the jitter range."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def job(attempts: int) -> Job:
    return Job(id=1, kind="order.post", key="000000007", lock="order:000000007", payload="{}",
               attempts=attempts, source_version="v1")  # fmt: skip


attempts = st.integers(min_value=1, max_value=30)
retry_afters = st.none() | st.floats(min_value=0, max_value=5000, allow_nan=False)
seeds = st.integers(min_value=0, max_value=2**32)


def backoff(policy: RetryPolicy, n: int) -> float:
    return min(policy.max_seconds, policy.base_seconds * 2.0 ** (n - 1))


@given(attempts, seeds)
def test_delay_is_exponential_backoff_within_the_jitter_bounds(n: int, seed: int) -> None:
    policy = RetryPolicy(base_seconds=2.0, max_seconds=600.0, rng=random.Random(seed))
    delay = policy.delay(n, None)
    assert backoff(policy, n) / 2 <= delay <= backoff(policy, n)


def test_delay_doubles_with_each_attempt_until_the_ceiling() -> None:
    top = RetryPolicy(base_seconds=2.0, max_seconds=600.0, rng=FixedRandom(1.0))  # no jitter discount
    assert [top.delay(n, None) for n in range(1, 11)] == [2, 4, 8, 16, 32, 64, 128, 256, 512, 600]
    bottom = RetryPolicy(base_seconds=2.0, max_seconds=600.0, rng=FixedRandom(0.0))  # half the backoff
    assert [bottom.delay(n, None) for n in range(1, 5)] == [1, 2, 4, 8]


def test_jitter_spreads_retries_of_the_same_attempt() -> None:
    policy = RetryPolicy(rng=random.Random(42))
    assert len({policy.delay(5, None) for _ in range(20)}) > 1


@given(attempts, retry_afters, seeds)
def test_delay_never_undercuts_retry_after_and_never_exceeds_the_ceiling(
    n: int, retry_after: float | None, seed: int
) -> None:
    policy = RetryPolicy(base_seconds=2.0, max_seconds=600.0, rng=random.Random(seed))
    delay = policy.delay(n, retry_after)
    assert delay >= min(retry_after or 0.0, policy.max_seconds)
    assert delay <= policy.max_seconds


def test_a_long_retry_after_is_honoured_over_a_short_backoff() -> None:
    policy = RetryPolicy(base_seconds=2.0, max_seconds=600.0, rng=FixedRandom(0.0))
    assert policy.delay(1, 120.0) == 120.0
    assert policy.delay(1, 3600.0) == 600.0  # capped at the ceiling


def test_delay_is_capped_even_after_very_many_attempts() -> None:
    assert RetryPolicy(max_seconds=600.0).delay(2000, None) <= 600.0


# --- settle ----------------------------------------------------------------------------------------------


@given(st.integers(min_value=1, max_value=7), retry_afters, seeds)
def test_settle_schedules_a_retry_below_max_attempts(n: int, retry_after: float | None, seed: int) -> None:
    policy = RetryPolicy(max_attempts=8, rng=random.Random(seed))
    settled = policy.settle(Retry(job(n), "ERP 503", retry_after=retry_after), NOW)
    assert isinstance(settled, Retry)
    assert settled.at is not None
    wait = (settled.at - NOW).total_seconds()
    assert wait >= min(retry_after or 0.0, policy.max_seconds) - 1e-6
    assert backoff(policy, n) / 2 - 1e-6 <= wait <= policy.max_seconds + 1e-6
    assert (settled.job, settled.error, settled.retry_after, settled.band) == (
        job(n), "ERP 503", retry_after, Band.RETRIABLE
    )  # fmt: skip


def test_settle_keeps_the_delay_it_was_given() -> None:
    policy = RetryPolicy(base_seconds=2.0, rng=FixedRandom(1.0))
    settled = policy.settle(Retry(job(3), "timeout"), NOW)
    assert isinstance(settled, Retry)
    assert settled.at == NOW + timedelta(seconds=8)


@pytest.mark.parametrize("n", [8, 9, 50])
def test_settle_parks_a_retry_at_max_attempts_as_erp_unavailable(n: int) -> None:
    policy = RetryPolicy(max_attempts=8)
    settled = policy.settle(Retry(job(n), "ERP 503 Service Unavailable", retry_after=5.0), NOW)
    assert isinstance(settled, Park)
    assert settled.job == job(n)
    assert settled.band == Band.RETRIABLE  # a bulk retry may try it again once the ERP is back
    problem = settled.problem
    assert (problem.reason, problem.owner) == (Reason.ERP_UNAVAILABLE, REASONS[Reason.ERP_UNAVAILABLE].owner)
    assert "000000007" in problem.message and f"{n} attempts" in problem.message
    assert "ERP 503 Service Unavailable" in problem.message
    assert problem.message.endswith(f"Resolution: {REASONS[Reason.ERP_UNAVAILABLE].resolution}")


def test_settle_gives_up_exactly_at_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert isinstance(policy.settle(Retry(job(2), "x"), NOW), Retry)
    assert isinstance(policy.settle(Retry(job(3), "x"), NOW), Park)
