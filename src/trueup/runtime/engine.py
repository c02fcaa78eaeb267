"""The embedded engine: observes flows on their intervals, feeds lane workers, keeps its heartbeat.

`drain()` is one pass (`trueup sync orders --once`): observe once while the workers post, then return when
nothing is left to do; a failure that outlasts the retry policy ends it with an error. `run()` (`trueup
run`) repeats observation on each flow's interval until stopped, and never gives up: every system has a
circuit breaker (`breaker.py`) that waits out an outage of any length, shows it as a health event, and
yields to a stop signal at once (the ledger keeps everything claimed but unfinished, so nothing is lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from trueup.errors import Fatal, Retriable
from trueup.model.work import Job, NewWork, Outcome
from trueup.ports import Clock
from trueup.runtime.backend import JobBackend
from trueup.runtime.breaker import Breaker
from trueup.runtime.retry import RetryPolicy
from trueup.runtime.worker import LaneWorker

log = logging.getLogger("trueup.engine")
T = TypeVar("T")


class Stopped(Exception):
    """The stop event was set while something was still running; it was cancelled."""


async def until_stopped(stop: asyncio.Event, work: Awaitable[T]) -> T:
    """Await `work`, or cancel it as soon as `stop` is set (then raise Stopped): a signal must not wait for
    an HTTP timeout or a retry to end."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            raise Stopped
    return task.result()


class ObservedFlow(Protocol):
    name: str
    lane: str

    def observe(self, cursor: str | None, started: datetime) -> AsyncIterator[tuple[list[NewWork], str]]: ...

    async def handle(self, jobs: Sequence[Job]) -> list[Outcome]: ...


class PeriodicTask(Protocol):
    name: str

    def sync(self) -> Awaitable[object]: ...


@dataclass(frozen=True, slots=True)
class Schedule:
    flow: ObservedFlow
    source: str
    interval: float
    # Set (by an inbound webhook) to observe before the interval is up; the interval still applies.
    wake: asyncio.Event | None = None


@dataclass
class Settings:
    batch_size: int = 64
    batches_in_flight: int = 4
    heartbeat_seconds: float = 15.0
    # Observation pauses while this many rows of its lane are still to do: the ledger could hold any
    # backlog, but reading far ahead of posting buys nothing and keeps less of it warm in memory.
    observe_ahead: int = 2000


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Engine:
    def __init__(
        self,
        backend: JobBackend,
        clock: Clock,
        policy: RetryPolicy,
        settings: Settings,
        *,
        on_event: Callable[[dict[str, object]], None] | None = None,
        erp_name: str = "erp",
    ) -> None:
        self.erp_name = erp_name
        self.breakers: dict[tuple[str, str], Breaker] = {}
        self.backend = backend
        self.clock = clock
        self.policy = policy
        self.settings = settings
        self.worker_id = new_worker_id()
        self.on_event = on_event or (lambda event: None)
        self.observed: Counter[str] = Counter()

    def breaker(self, system: str, activity: str) -> Breaker:
        key = (system, activity)
        if key not in self.breakers:
            self.breakers[key] = Breaker(system, self.policy, self.on_event, activity=activity)
        return self.breakers[key]

    def _worker(self, flow: ObservedFlow, breaker: Breaker | None = None) -> LaneWorker:
        def on_batch(batch: Counter[str]) -> None:
            self.on_event({"event": "batch", "lane": flow.lane, **batch})

        return LaneWorker(
            flow,
            self.backend,
            self.policy,
            self.clock,
            self.worker_id,
            batch_size=self.settings.batch_size,
            in_flight=self.settings.batches_in_flight,
            on_batch=on_batch,
            breaker=breaker,
        )

    async def start(self) -> None:
        swept = await self.backend.start(self.worker_id, self.clock.now())
        self.on_event({"event": "start", "worker": self.worker_id, "swept": swept})

    async def _retrying(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt`, backing off on Retriable errors; after the policy's attempts *in a row* with no
        progress, the flow stops. An attempt that committed work before failing (an observation pass that
        stored some pages) resets the count: a long pass over a flaky source still finishes."""
        tries = 0
        while True:
            before = sum(self.observed.values())
            try:
                return await attempt()
            except Retriable as exc:
                tries = 1 if sum(self.observed.values()) > before else tries + 1
                if tries >= self.policy.max_attempts:
                    raise Fatal(f"{what} still failing after {tries} attempts in a row: {exc}") from exc
                delay = self.policy.delay(tries, exc.retry_after)
                self.on_event(
                    {"event": "retry", "what": what, "error": str(exc), "in_seconds": round(delay, 3)}
                )
                await asyncio.sleep(delay)

    async def _persist(
        self, breaker: Breaker, attempt: Callable[[], Awaitable[T]], stop: asyncio.Event
    ) -> T | None:
        """The daemon's `_retrying`: try until it works or `stop` is set (then None), never giving up. A
        failure of any band opens the system's breaker after a few in a row; a Fatal one (a refused token, a
        page Magento cannot serve) is logged as an error, since a person may have to act, but the daemon
        stays up and tries again when the cool-down ends, so it comes back by itself when the system does."""
        while not stop.is_set():
            before = sum(self.observed.values())
            try:
                result = await until_stopped(stop, attempt())
            except Stopped:
                return None
            except (Retriable, Fatal) as exc:
                if sum(self.observed.values()) > before:
                    breaker.success()  # it stored pages before failing: a flaky source, not a dead one
                delay = breaker.failure(str(exc), getattr(exc, "retry_after", None))
                if isinstance(exc, Fatal):
                    log.error("%s failed: %s (trying again in %.1f s)", breaker.activity, exc, delay)
                event = {"event": "retry", "what": breaker.activity, "error": str(exc)}
                self.on_event({**event, "in_seconds": round(delay, 3)})
            except Exception as exc:  # a bug: loud, but one failed pass must not stop the daemon
                log.exception("%s failed", breaker.activity)
                delay = breaker.failure(f"internal error: {type(exc).__name__}")
            else:
                breaker.success()
                return result
            await breaker.wait(stop, delay)
        return None

    async def observe(self, schedule: Schedule, worker: LaneWorker | None = None) -> int:
        """One observation pass, retried on transient failures. Each page and its cursor advance are
        committed together, so a retry resumes after the last committed page (minus the overlap)."""
        return await self._retrying(
            f"observing {schedule.flow.name}", lambda: self._observe(schedule, worker)
        )

    async def _observe(self, schedule: Schedule, worker: LaneWorker | None) -> int:
        flow = schedule.flow
        cursor = await self.backend.cursor(flow.name, schedule.source)
        started = self.clock.now()
        count = 0
        async for rows, high_water in flow.observe(cursor, started):
            if worker is not None:
                await self._keep_pace(flow.lane, worker)
            await self.backend.enqueue(rows, self.clock.now(), (flow.name, schedule.source, high_water))
            count += len(rows)
            self.observed[flow.name] += len(rows)
            parked = sum(1 for r in rows if r.parked)  # unreadable records park at once, never reach a worker
            self.on_event(
                {
                    "event": "observed",
                    "flow": flow.name,
                    "rows": len(rows),
                    "parked": parked,
                    "cursor": high_water,
                }
            )
            if worker:
                worker.wake.set()
        return count

    async def _keep_pace(self, lane: str, worker: LaneWorker) -> None:
        """Wait while the lane has more than `observe_ahead` rows to do, waking as batches finish. If the
        worker has stopped (a fatal error), stop observing too rather than wait for progress forever."""
        while await self.backend.outstanding(lane) > self.settings.observe_ahead:
            if not worker.running and not worker.supervised:
                # The worker's own error says why (e.g. the ERP refused the token): report that one.
                raise worker.error or Fatal(f"the {lane} worker stopped; observation stops with it")
            worker.progressed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(worker.progressed.wait(), 5.0)

    async def drain(
        self, schedule: Schedule, before: Sequence[PeriodicTask] = (), *, items_held: bool = False
    ) -> Counter[str]:
        """Run `before` (e.g. the item sync), then observe once while posting; return when all is posted.
        With `items_held` (the map holds items from an earlier sync), a `before` task that fails does not
        stop the pass: orders are judged against the map already held, and the failure is reported."""
        await self.start()
        for task in before:
            try:
                result = await self._retrying(task.name, task.sync)
            except Fatal as exc:
                if not items_held:
                    raise
                log.warning("%s failed; posting with the item map already held: %s", task.name, exc)
                self.on_event({"event": "sync_failed", "task": task.name, "error": str(exc)})
                continue
            self.on_event({"event": "synced", "task": task.name, "result": repr(result)})
        worker = self._worker(schedule.flow)
        stop, observed = asyncio.Event(), asyncio.Event()
        work = asyncio.create_task(worker.run(stop, drain_after=observed))
        beat = asyncio.create_task(self._heartbeat(stop))
        try:
            await self.observe(schedule, worker)
            observed.set()
            worker.wake.set()
            await work
        finally:
            stop.set()
            for running in (work, beat):
                if not running.done():
                    running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
        return worker.totals

    async def run(
        self,
        schedules: Sequence[Schedule],
        periodic: Sequence[tuple[PeriodicTask, float]],
        stop: asyncio.Event,
        *,
        items_held: bool = False,
    ) -> None:
        """Until `stop`: every flow observed on its interval, every lane worked continuously. Periodic tasks
        that must come first (`runs_first`: the item sync) run before any lane works, so that no order is
        judged against an empty item map; when the map already holds items (`items_held`), orders go on
        with it while the first sync runs alongside. Every other periodic task (checks, sweeps) starts at
        once alongside the lanes: a storefront that is down must not hold the order lane back."""
        await self.start()
        first = [task for task, _ in periodic if getattr(task, "runs_first", False)]
        if not items_held:
            for periodic_task in first:
                breaker = self.breaker(getattr(periodic_task, "system", self.erp_name), periodic_task.name)
                result = await self._persist(breaker, periodic_task.sync, stop)
                if stop.is_set():
                    return
                self.on_event({"event": "synced", "task": periodic_task.name, "result": repr(result)})
        workers = {
            s.flow.lane: self._worker(s.flow, self.breaker(self.erp_name, f"posting {s.flow.lane}"))
            for s in schedules
        }
        tasks = [asyncio.create_task(self._supervise(w, stop)) for w in workers.values()]
        tasks += [
            asyncio.create_task(
                self._every(
                    s.interval,
                    stop,
                    self._observe_job(s, workers[s.flow.lane]),
                    self.breaker(s.source, f"observing {s.flow.name}"),
                    wake=s.wake,
                )
            )
            for s in schedules
        ]
        tasks += [
            asyncio.create_task(
                self._every(
                    interval,
                    stop,
                    p.sync,
                    self.breaker(getattr(p, "system", self.erp_name), p.name),
                    first_after=interval if p in first and not items_held else 0.0,
                    report=p.name,
                )
            )
            for p, interval in periodic
        ]
        tasks.append(asyncio.create_task(self._heartbeat(stop)))
        try:
            done, _ = await asyncio.wait(
                [*tasks, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
            )
            for finished in done:
                finished.result()
        finally:
            stop.set()
            for running in tasks:
                running.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _supervise(self, worker: LaneWorker, stop: asyncio.Event) -> None:
        """Keep a lane worker going: if the ERP stops it (a Fatal answer, e.g. a revoked token), its jobs
        are handed back untouched, the breaker shows the ERP down, and it starts again after the cool-down."""
        worker.supervised = True
        breaker = worker.breaker or self.breaker(self.erp_name, f"posting {worker.handler.lane}")
        while not stop.is_set():
            try:
                await worker.run(stop)
                return
            except Fatal as exc:
                delay = breaker.failure(str(exc))
                log.error("posting %s stopped: %s (trying again in %.1f s)", worker.handler.lane, exc, delay)
                await breaker.wait(stop, delay)

    def _observe_job(self, schedule: Schedule, worker: LaneWorker) -> Callable[[], Awaitable[int]]:
        async def job() -> int:
            return await self._observe(schedule, worker)

        return job

    async def _every(
        self,
        interval: float,
        stop: asyncio.Event,
        job: Callable[[], Awaitable[object]],
        breaker: Breaker,
        *,
        first_after: float = 0.0,
        report: str = "",
        wake: asyncio.Event | None = None,
    ) -> None:
        if first_after:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), first_after)
        while not stop.is_set():
            result = await self._persist(breaker, job, stop)
            if report and not stop.is_set():
                self.on_event({"event": "synced", "task": report, "result": repr(result)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_either(stop, wake), interval)
            if wake is not None:
                wake.clear()

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.heartbeat_seconds)
            if stop.is_set():
                return
            swept = await self.backend.heartbeat(self.worker_id, self.clock.now())
            if swept:
                log.warning("swept %d stalled jobs back to the queue", swept)


async def _either(stop: asyncio.Event, wake: asyncio.Event | None) -> None:
    """Until `stop` or `wake` is set."""
    if wake is None:
        await stop.wait()
        return
    waits = [asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
