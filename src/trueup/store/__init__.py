"""Persistence: SQLAlchemy 2 Core over SQLite (WAL) or PostgreSQL, with Alembic migrations.

`Store` is the one object the rest of trueup holds; its methods are synchronous and each is one
transaction. The runtime calls them from a single database thread so the event loop never blocks.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from trueup.model.exceptions import Reason, owner_of
from trueup.model.items import ErpItem
from trueup.model.work import Done, InputRejection, Job, NewWork, Outcome, Park, Problem, Status
from trueup.security.crypto import PayloadCipher, open_payload
from trueup.store import ledger
from trueup.store.db import migrate, open_engine
from trueup.store.items import items_for, upsert_items
from trueup.store.reused import park_reused_keys
from trueup.store.schema import item_map, links, work
from trueup.store.state import add_audit, get_cursor, set_cursor
from trueup.store.stock import record_pushed


class Store:
    def __init__(self, url: str, *, create: bool = True, cipher: PayloadCipher | None = None) -> None:
        self.url = url
        # Payloads are sealed here on the way in and opened on the way out, so flows never see ciphertext.
        self.cipher = cipher
        self.engine: Engine = open_engine(url)
        if create:
            migrate(self.engine)

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    # observation
    def enqueue(
        self, rows: Sequence[NewWork], now: datetime, cursor: tuple[str, str, str] | None = None
    ) -> None:
        """Enqueue observed work and advance the cursor that covers it, in one transaction."""
        if self.cipher is not None:
            seal = self.cipher.seal
            rows = [replace(r, payload=seal(r.payload)) for r in rows]
        with self.tx() as conn:
            ledger.enqueue(conn, park_reused_keys(conn, rows), now)
            if cursor:
                set_cursor(conn, *cursor, now)

    def cursor(self, flow: str, source: str) -> str | None:
        with self.tx() as conn:
            return get_cursor(conn, flow, source)

    # workers
    def claim(
        self, lane: str, worker: str, limit: int, now: datetime, lease: timedelta, *, waiting: bool = True
    ) -> list[Job]:
        with self.tx() as conn:
            jobs = ledger.claim(conn, lane, worker, limit, now, lease, waiting=waiting)
            # Opened inside the transaction: a payload that cannot be read (no key, a wrong key) stops the
            # engine with the claim rolled back, rather than parking orders as unreadable.
            if self.cipher is not None:
                unseal = self.cipher.open
                return [replace(j, payload=unseal(j.payload)) for j in jobs]
            for job in jobs:
                open_payload(job.payload, None)
            return jobs

    def record(self, outcomes: Iterable[Outcome], now: datetime) -> None:
        outcomes = list(outcomes)
        try:
            with self.tx() as conn:
                ledger.record(conn, outcomes, now)
                record_pushed(conn, outcomes, now)  # a confirmed stock batch and its outcome: one commit
        except IntegrityError:
            # One job's link clashes with another order's (same ERP reference): record the batch one
            # outcome at a time and park the one that clashes, so that no single record stops the pass.
            for outcome in outcomes:
                try:
                    with self.tx() as conn:
                        ledger.record(conn, [outcome], now)
                        record_pushed(conn, [outcome], now)
                except IntegrityError:
                    if not isinstance(outcome, Done):
                        raise  # only a link can clash; anything else is a real fault
                    with self.tx() as conn:
                        ledger.record(conn, [self._ref_taken(conn, outcome)], now)

    @staticmethod
    def _ref_taken(conn: Connection, outcome: Done) -> Park:
        other = conn.execute(
            select(links.c.external_id).where(
                links.c.erp == outcome.erp,
                links.c.kind == outcome.link_kind,
                links.c.erp_ref == outcome.result,
            )
        ).scalar()
        problem = Problem.of(
            Reason.ERP_REF_TAKEN,
            f"{outcome.job.key}: ERP {outcome.erp} took it as {outcome.result}, which is already linked to "
            f"{other or 'another order'}.",
            field="erp_ref",
        )
        return Park(outcome.job, problem)

    def release(self, job_ids: Sequence[int], now: datetime) -> None:
        with self.tx() as conn:
            ledger.release(conn, job_ids, now)

    def register_worker(
        self, worker: str, now: datetime, *, exclusive: bool, dead_after: timedelta = timedelta(minutes=1)
    ) -> int:
        """Register this process and take back stalled rows. In embedded (exclusive) mode every other worker
        is a dead process, so all of its rows come back at once; otherwise only those of silent workers."""
        with self.tx() as conn:
            if exclusive:
                ledger.forget_workers(conn, keep=worker)
            ledger.heartbeat(conn, worker, socket.gethostname(), os.getpid(), now)
            return ledger.sweep(conn, now, timedelta(0) if exclusive else dead_after)

    def heartbeat_and_sweep(self, worker: str, now: datetime, dead_after: timedelta) -> int:
        with self.tx() as conn:
            ledger.heartbeat(conn, worker, socket.gethostname(), os.getpid(), now)
            return ledger.sweep(conn, now, dead_after)

    def next_due(self, lane: str, *, waiting: bool = True) -> datetime | None:
        with self.tx() as conn:
            return ledger.next_due(conn, lane, waiting=waiting)

    def recheck_sent(self, lane: str, now: datetime) -> int:
        with self.tx() as conn:
            return ledger.recheck_sent(conn, lane, now)

    def outstanding(self, lane: str) -> int:
        with self.tx() as conn:
            return ledger.outstanding(conn, lane)

    # items
    def upsert_items(self, erp: str, items: Sequence[ErpItem], now: datetime) -> int:
        with self.tx() as conn:
            return upsert_items(conn, erp, items, now)

    def park_rejections(self, rejections: Sequence[InputRejection], now: datetime) -> int:
        """Put what a connector refused into the exception queue (once per source and key)."""
        rows = [
            NewWork(
                kind="input.rejected",
                key=f"{r.source}:{r.key}"[:128],
                lane="checks",
                lock=f"input:{r.source}:{r.key}"[:160],
                payload=json.dumps({"source": r.source, "key": r.key, "message": r.message}),
                source_version=r.message[:64],
                parked=Problem(
                    r.reason, owner_of(r.reason), r.message, r.field, r.impact_minor, r.currency, r.source
                ),
            )
            for r in rejections
        ]
        self.enqueue(rows, now)
        return len(rows)

    def requeue_parked(self, reasons: Sequence[str], now: datetime, *, why: str) -> int:
        """Re-plan parked work whose cause may be gone (e.g. the item master changed); audited."""
        with self.tx() as conn:
            keys = ledger.requeue_parked(conn, reasons, now)
            if keys:
                add_audit(
                    conn,
                    at=now,
                    actor="engine",
                    action="requeue",
                    kind="work",
                    key=",".join(reasons),
                    note=why,
                    detail={"count": len(keys), "keys": keys[:50]},
                )
            return len(keys)

    def items_for(self, erp: str, skus: Iterable[str]) -> dict[str, ErpItem]:
        with self.tx() as conn:
            return items_for(conn, erp, skus)

    # reporting
    def counts(self, kind: str | None = None) -> dict[str, int]:
        with self.tx() as conn:
            return ledger.counts(conn, kind)

    def counts_by_reason(self, statuses: Sequence[Status] = (Status.PARKED,)) -> dict[str, int]:
        with self.tx() as conn:
            return ledger.counts_by_reason(conn, statuses)

    def link_count(self, kind: str) -> int:
        with self.tx() as conn:
            return int(conn.execute(select(func.count()).where(links.c.kind == kind)).scalar_one())

    def item_count(self, erp: str) -> int:
        with self.tx() as conn:
            return int(conn.execute(select(func.count()).where(item_map.c.erp == erp)).scalar_one())

    def work_count(self, kind: str) -> int:
        with self.tx() as conn:
            return int(conn.execute(select(func.count()).where(work.c.kind == kind)).scalar_one())


__all__ = ["Store"]
