"""Lane workers over a real SQLite ledger: retries, crashes in handlers, fatal stops, lanes that never block
each other. Retry delays are a millisecond, and tests wait on the drain itself, never on a timer."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import pytest

from trueup.errors import Fatal
from trueup.model.work import Done, Job, NewWork, Outcome, Retry, Status
from trueup.runtime.backend import EmbeddedBackend
from trueup.runtime.clock import SystemClock
from trueup.runtime.retry import RetryPolicy
from trueup.runtime.worker import LaneWorker
from trueup.store import Store


class ScriptedFlow:
    """Answers each job by a script keyed on (key, attempt); records every call."""

    def __init__(self, lane: str, script: dict[tuple[str, int], str] | None = None) -> None:
        self.lane = lane
        self.script = script or {}
        self.calls: Counter[str] = Counter()
        self.gate: asyncio.Event | None = None

    async def handle(self, jobs: Sequence[Job]) -> list[Outcome]:
        if self.gate is not None:
            await self.gate.wait()
        outcomes: list[Outcome] = []
        for job in jobs:
            self.calls[job.key] += 1
            action = self.script.get((job.key, job.attempts), "done")
            if action == "crash":
                raise RuntimeError("bug in a handler")
            if action == "fatal":
                raise Fatal("credentials revoked")
            if action == "forget":
                continue
            outcomes.append(
                Retry(job, "503", retry_after=None) if action == "retry" else Done(job, f"SO-{job.key}")
            )
        return outcomes


@pytest.fixture
def backend(sqlite_url: str) -> EmbeddedBackend:
    store = Store(sqlite_url)
    b = EmbeddedBackend(store, lease=timedelta(minutes=5), dead_after=timedelta(minutes=1))
    yield b
    b.close()
    store.close()


def enqueue(backend: EmbeddedBackend, keys: list[str], lane: str = "orders") -> None:
    rows = [
        NewWork("order.post" if lane == "orders" else lane, k, lane, f"{lane}:{k}", "{}", "v1") for k in keys
    ]
    backend.store.enqueue(rows, SystemClock().now())


def worker(flow: ScriptedFlow, backend: EmbeddedBackend, *, max_attempts: int = 5) -> LaneWorker:
    policy = RetryPolicy(base_seconds=0.001, max_seconds=0.01, max_attempts=max_attempts)
    return LaneWorker(flow, backend, policy, SystemClock(), "w1", batch_size=3, in_flight=2)


async def drain(w: LaneWorker) -> None:
    done = asyncio.Event()
    done.set()
    await asyncio.wait_for(w.run(asyncio.Event(), drain_after=done), timeout=30)


def status_of(backend: EmbeddedBackend) -> dict[str, tuple[str, int, str | None]]:
    from sqlalchemy import select

    from trueup.store.schema import work

    with backend.store.tx() as conn:
        rows = conn.execute(select(work.c.key, work.c.status, work.c.attempts, work.c.reason))
        return {k: (s, a, r) for k, s, a, r in rows}


async def test_transient_failures_are_retried_until_done(backend: EmbeddedBackend) -> None:
    enqueue(backend, ["A", "B", "C", "D"])
    flow = ScriptedFlow("orders", {("A", 1): "retry", ("A", 2): "retry", ("C", 1): "retry"})
    w = worker(flow, backend)
    await drain(w)
    assert status_of(backend) == {
        "A": ("done", 3, None),
        "B": ("done", 1, None),
        "C": ("done", 2, None),
        "D": ("done", 1, None),
    }
    assert w.totals["done"] == 4 and w.totals["retrying"] == 3


async def test_retries_exhausted_park_the_record_as_an_exception(backend: EmbeddedBackend) -> None:
    enqueue(backend, ["A", "B"])
    flow = ScriptedFlow("orders", {("A", n): "retry" for n in range(1, 10)})
    await drain(worker(flow, backend, max_attempts=3))
    assert status_of(backend) == {"A": ("parked", 3, "erp_unavailable"), "B": ("done", 1, None)}


async def test_a_crashing_handler_loses_no_job(backend: EmbeddedBackend) -> None:
    enqueue(backend, ["A", "B", "C"])
    flow = ScriptedFlow("orders", {("B", 1): "crash"})
    await drain(worker(flow, backend))
    assert {k: s for k, (s, _, _) in status_of(backend).items()} == {"A": "done", "B": "done", "C": "done"}


async def test_a_job_the_handler_forgot_is_retried_not_dropped(backend: EmbeddedBackend) -> None:
    enqueue(backend, ["A", "B"])
    await drain(worker(ScriptedFlow("orders", {("A", 1): "forget"}), backend))
    assert status_of(backend)["A"] == ("done", 2, None)


async def test_fatal_stops_the_lane_and_hands_the_jobs_back_uncounted(backend: EmbeddedBackend) -> None:
    enqueue(backend, ["A", "B", "C"])
    with pytest.raises(Fatal, match="credentials revoked"):
        await drain(worker(ScriptedFlow("orders", {("A", 1): "fatal"}), backend))
    states = status_of(backend)
    assert states["A"] == ("retrying", 0, None)
    assert all(s in (Status.RETRYING, Status.DONE) for s, _, _ in states.values())


async def test_a_stuck_lane_never_delays_another_lane(backend: EmbeddedBackend) -> None:
    enqueue(backend, ["S1", "S2"], lane="stock")
    enqueue(backend, ["O1", "O2", "O3"], lane="orders")
    stuck = ScriptedFlow("stock")
    stuck.gate = asyncio.Event()  # the stock ERP hangs
    stop = asyncio.Event()
    stock_worker = asyncio.create_task(worker(stuck, backend).run(stop))
    await drain(worker(ScriptedFlow("orders"), backend))
    states = status_of(backend)
    assert [states[k][0] for k in ("O1", "O2", "O3")] == ["done"] * 3
    assert [states[k][0] for k in ("S1", "S2")] == ["doing"] * 2
    stuck.gate.set()
    stop.set()
    await asyncio.wait_for(stock_worker, timeout=30)
    assert [status_of(backend)[k][0] for k in ("S1", "S2")] == ["done"] * 2
