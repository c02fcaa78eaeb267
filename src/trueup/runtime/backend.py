"""The job backend port, and its embedded implementation over trueup's own ledger.

The port is shaped after procrastinate (defer with a lock and a queueing key, fetch per queue honouring
locks, finish or retry), so a PostgreSQL/procrastinate backend can stand in for scale-out without any flow
changing. The embedded backend runs every database call on one thread, so SQLite sees one writer and the
event loop never blocks on I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from trueup.model.items import ErpItem
from trueup.model.work import InputRejection, Job, NewWork, Outcome
from trueup.ports import Clock
from trueup.store import Store

T = TypeVar("T")


class JobBackend(Protocol):
    async def start(self, worker: str, now: datetime) -> int: ...

    async def heartbeat(self, worker: str, now: datetime) -> int: ...

    async def enqueue(
        self, rows: Sequence[NewWork], now: datetime, cursor: tuple[str, str, str] | None
    ) -> None: ...

    async def claim(
        self, lane: str, worker: str, limit: int, now: datetime, *, waiting: bool
    ) -> list[Job]: ...

    async def record(self, outcomes: Sequence[Outcome], now: datetime) -> None: ...

    async def release(self, jobs: Sequence[Job], now: datetime) -> None: ...

    async def next_due(self, lane: str, *, waiting: bool) -> datetime | None: ...

    async def outstanding(self, lane: str) -> int: ...

    async def recheck_sent(self, lane: str, now: datetime) -> int:
        """Make every row awaiting an ERP acknowledgement due now; returns how many."""
        ...

    async def cursor(self, flow: str, source: str) -> str | None: ...


class EmbeddedBackend:
    def __init__(
        self, store: Store, *, lease: timedelta, dead_after: timedelta, exclusive: bool = True
    ) -> None:
        self.store = store
        self.lease = lease
        self.dead_after = dead_after
        self.exclusive = exclusive
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trueup-db")

    async def call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, lambda: fn(*args, **kwargs))

    async def start(self, worker: str, now: datetime) -> int:
        return await self.call(
            self.store.register_worker, worker, now, exclusive=self.exclusive, dead_after=self.dead_after
        )

    async def heartbeat(self, worker: str, now: datetime) -> int:
        return await self.call(self.store.heartbeat_and_sweep, worker, now, self.dead_after)

    async def enqueue(
        self, rows: Sequence[NewWork], now: datetime, cursor: tuple[str, str, str] | None
    ) -> None:
        await self.call(self.store.enqueue, rows, now, cursor)

    async def claim(self, lane: str, worker: str, limit: int, now: datetime, *, waiting: bool) -> list[Job]:
        return await self.call(self.store.claim, lane, worker, limit, now, self.lease, waiting=waiting)

    async def record(self, outcomes: Sequence[Outcome], now: datetime) -> None:
        await self.call(self.store.record, outcomes, now)

    async def release(self, jobs: Sequence[Job], now: datetime) -> None:
        await self.call(self.store.release, [j.id for j in jobs], now)

    async def next_due(self, lane: str, *, waiting: bool) -> datetime | None:
        return await self.call(self.store.next_due, lane, waiting=waiting)

    async def outstanding(self, lane: str) -> int:
        return await self.call(self.store.outstanding, lane)

    async def recheck_sent(self, lane: str, now: datetime) -> int:
        return await self.call(self.store.recheck_sent, lane, now)

    async def cursor(self, flow: str, source: str) -> str | None:
        return await self.call(self.store.cursor, flow, source)

    def close(self) -> None:
        self._db.shutdown(wait=True)


class StoreExceptionQueue:
    """The `ExceptionQueue` port over the store."""

    def __init__(self, backend: EmbeddedBackend, clock: Clock) -> None:
        self.backend = backend
        self.clock = clock

    async def park_rejections(self, rejections: Sequence[InputRejection]) -> int:
        if not rejections:
            return 0
        return await self.backend.call(self.backend.store.park_rejections, rejections, self.clock.now())


class StoreItemMap:
    """The `ItemMap` port over the store, on the backend's database thread."""

    def __init__(self, backend: EmbeddedBackend, erp: str, clock: Clock) -> None:
        self.backend = backend
        self.erp = erp
        self.clock = clock

    async def items_for(self, skus: Iterable[str]) -> Mapping[str, ErpItem]:
        return await self.backend.call(self.backend.store.items_for, self.erp, list(skus))

    async def save_items(self, items: Sequence[ErpItem]) -> int:
        return await self.backend.call(self.backend.store.upsert_items, self.erp, items, self.clock.now())

    async def replan_parked(self, reasons: Sequence[str], why: str) -> int:
        return await self.backend.call(self.backend.store.requeue_parked, reasons, self.clock.now(), why=why)

    async def held(self) -> int:
        """How many items of this ERP the map holds (from an earlier sync)."""
        return await self.backend.call(self.backend.store.item_count, self.erp)
