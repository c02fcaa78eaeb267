"""A lane worker: claims batches of due work in one lane, hands them to the lane's flow, records outcomes.

Several batches are in flight at once so that one slow ERP answer never idles the lane, and lanes are
separate workers so that a backlog in one never delays another (R-STK-5).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol

from trueup.errors import Fatal
from trueup.model.work import Done, Job, Outcome, Park, Retry, Sent, Skip, Wait
from trueup.ports import Clock
from trueup.runtime.backend import JobBackend
from trueup.runtime.breaker import Breaker
from trueup.runtime.retry import RetryPolicy

log = logging.getLogger("trueup.worker")

# How long an idle worker waits before looking again when nothing woke it: other processes may enqueue.
IDLE_POLL_SECONDS = 5.0


class LaneHandler(Protocol):
    lane: str

    async def handle(self, jobs: Sequence[Job]) -> list[Outcome]: ...


class LaneWorker:
    def __init__(
        self,
        handler: LaneHandler,
        backend: JobBackend,
        policy: RetryPolicy,
        clock: Clock,
        worker_id: str,
        *,
        batch_size: int = 64,
        in_flight: int = 4,
        on_batch: Callable[[Counter[str]], None] | None = None,
        breaker: Breaker | None = None,
    ) -> None:
        self.handler = handler
        # With a breaker (the daemon), an outage pauses claiming instead of burning every job's attempts
        # until they all park: a job is charged only for failures before the breaker opened.
        self.breaker = breaker
        self.supervised = False  # restarted by the engine after a Fatal stop, so do not treat it as final
        self.backend = backend
        self.policy = policy
        self.clock = clock
        self.worker_id = worker_id
        self.batch_size = batch_size
        self.in_flight = in_flight
        self.on_batch = on_batch
        self.totals: Counter[str] = Counter()
        self.wake = asyncio.Event()
        self.progressed = asyncio.Event()  # set after every recorded batch, and when the worker stops
        self.running = False
        self.error: Exception | None = None  # what stopped the worker, if anything did

    async def run(self, stop: asyncio.Event, *, drain_after: asyncio.Event | None = None) -> None:
        """Work until `stop` is set; with `drain_after`, also return once that is set and nothing is left
        to do (rows waiting on payment do not count). Before returning, a drain asks once about every row
        awaiting an ERP acknowledgement (`sent`), then leaves those still unanswered for the next pass:
        a batch ERP answers on its own schedule, and a pass must end."""
        lane = self.handler.lane
        tasks: set[asyncio.Task[None]] = set()
        acks_checked = False
        self.running = True
        try:
            while not stop.is_set():
                if self.breaker and self.breaker.is_open and not tasks and not await self.breaker.wait(stop):
                    break
                while len(tasks) < self.in_flight and not (self.breaker and self.breaker.remaining()):
                    jobs = await self.backend.claim(
                        lane, self.worker_id, self.batch_size, self.clock.now(), waiting=True
                    )
                    if not jobs:
                        break
                    tasks.add(asyncio.create_task(self._batch(jobs)))
                if tasks:
                    await self._wait(tasks)
                    continue
                if (
                    drain_after is not None
                    and drain_after.is_set()
                    and await self.backend.outstanding(lane) == 0
                ):
                    if acks_checked or not await self.backend.recheck_sent(lane, self.clock.now()):
                        return
                    acks_checked = True
                    continue
                due = await self.backend.next_due(lane, waiting=drain_after is None)
                timeout = IDLE_POLL_SECONDS
                if due is not None:
                    timeout = min(timeout, max(0.0, (due - self.clock.now()).total_seconds()))
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken(stop, drain_after), timeout)
        except Exception as exc:
            self.error = exc
            raise
        finally:
            self.running = False
            self.progressed.set()  # wake anyone pacing on this worker: it will make no more progress
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _woken(self, stop: asyncio.Event, drain_after: asyncio.Event | None) -> None:
        waiters = [asyncio.create_task(self.wake.wait()), asyncio.create_task(stop.wait())]
        if drain_after is not None and not drain_after.is_set():
            waiters.append(asyncio.create_task(drain_after.wait()))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def _wait(self, tasks: set[asyncio.Task[None]]) -> None:
        waker = asyncio.create_task(self.wake.wait())
        done, _ = await asyncio.wait({*tasks, waker}, return_when=asyncio.FIRST_COMPLETED)
        waker.cancel()
        self.wake.clear()
        for task in done:
            if task is waker:
                continue
            tasks.discard(task)
            task.result()  # re-raise Fatal: the flow cannot run

    async def _batch(self, jobs: list[Job]) -> None:
        try:
            outcomes = await self.handler.handle(jobs)
        except Fatal:
            await self.backend.release(jobs, self.clock.now())
            raise
        except Exception as exc:  # a bug in trueup must not lose the jobs: retry them, loudly
            log.exception("lane %s: handler failed on %d jobs", self.handler.lane, len(jobs))
            outcomes = [Retry(job, f"internal error: {type(exc).__name__}: {exc}") for job in jobs]
        seen = {o.job.id for o in outcomes}
        outcomes += [Retry(job, "internal error: no outcome reported") for job in jobs if job.id not in seen]
        now = self.clock.now()
        if self.breaker is not None and self._outage(outcomes):
            await self.backend.release(jobs, now)  # the system is down, not these orders: no attempt charged
            self.progressed.set()
            return
        settled = [self.policy.settle(o, now) if isinstance(o, Retry) else o for o in outcomes]
        await self.backend.record(settled, now)
        self.progressed.set()
        batch: Counter[str] = Counter(_label(o) for o in settled)
        self.totals.update(batch)
        if self.on_batch:
            self.on_batch(batch)

    def _outage(self, outcomes: Sequence[Outcome]) -> bool:
        """Feed the breaker; True when the batch failed with the breaker open (an outage, not a record)."""
        assert self.breaker is not None
        if any(isinstance(o, Done) for o in outcomes):
            self.breaker.success()
            return False
        failed = [o for o in outcomes if isinstance(o, Retry)]
        if not failed or len(failed) < len(outcomes):
            return False
        retry_after = max((o.retry_after or 0.0 for o in failed), default=0.0) or None
        was_open = self.breaker.is_open
        self.breaker.failure(failed[0].error, retry_after)
        return was_open or self.breaker.is_open


def _label(outcome: Outcome) -> str:
    if isinstance(outcome, Sent) and outcome.job.sent_at is not None:
        return "awaiting_ack"  # asked again, and the ERP has not answered yet
    labels = {Done: "done", Sent: "sent", Retry: "retrying", Wait: "waiting", Park: "parked", Skip: "skipped"}
    return labels[type(outcome)]
