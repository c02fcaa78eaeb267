"""The work ledger: enqueue observed work, claim it with per-lock FIFO, record outcomes, sweep stalls.

Every function takes an open connection inside a transaction, so that a caller can put the cursor
advance and the work it covers into one commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, exists, func, literal_column, or_, select, update

from trueup.model.exceptions import REASONS
from trueup.model.work import (
    BLOCKING,
    Done,
    Job,
    NewWork,
    Outcome,
    Park,
    Problem,
    Retry,
    Sent,
    Skip,
    Status,
    Wait,
)
from trueup.store import history
from trueup.store.many import execute_many
from trueup.store.schema import links, work, workers

_REPLANNABLE = (Status.TODO, Status.RETRYING, Status.WAITING, Status.PARKED)


def _insert(conn: Connection, table: Any) -> Any:
    # Each dialect's module is imported when first used: PostgreSQL's costs an embedded start 15 ms.
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported database dialect {dialect!r}")


def _system(problem: Problem) -> str:
    return problem.system or str(REASONS[problem.reason].at_fault)


def enqueue(conn: Connection, rows: Sequence[NewWork], now: datetime) -> None:
    """Insert new work; for work already known, re-plan it only if its source changed and it is unfinished.

    Done, resolved and ignored rows are never touched again by observation: the key is the idempotency key.
    """
    if not rows:
        return
    values = [
        {
            "kind": r.kind,
            "key": r.key,
            "lane": r.lane,
            "lock": r.lock,
            "payload": r.payload,
            "source_version": r.source_version,
            "status": Status.PARKED if r.parked else Status.TODO,
            "attempts": 0,
            "next_at": now,
            "reason": r.parked.reason if r.parked else None,
            "owner": r.parked.owner if r.parked else None,
            "detail": r.parked.message if r.parked else None,
            "field": r.parked.field if r.parked else None,
            "system": _system(r.parked) if r.parked else None,
            "error_band": "skippable" if r.parked else None,
            "impact_minor": r.parked.impact_minor if r.parked else 0,
            "currency": r.parked.currency if r.parked else None,
            "created_at": now,
            "updated_at": now,
        }
        for r in rows
    ]
    execute_many(conn, "ledger.enqueue", lambda: _upsert_work(conn), values)
    history.raised_on_enqueue(conn, rows, now)


def _upsert_work(conn: Connection) -> Any:
    stmt = _insert(conn, work)
    excluded = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=[work.c.kind, work.c.key],
        set_={
            "payload": excluded.payload,
            "source_version": excluded.source_version,
            "status": excluded.status,
            "next_at": excluded.next_at,
            "reason": excluded.reason,
            "owner": excluded.owner,
            "detail": excluded.detail,
            "field": excluded.field,
            "system": excluded.system,
            "error_band": excluded.error_band,
            "impact_minor": excluded.impact_minor,
            "currency": excluded.currency,
            "updated_at": excluded.updated_at,
        },
        where=and_(
            work.c.source_version != excluded.source_version,
            # literal values: executemany cannot expand a bound IN list
            work.c.status.in_([literal_column(f"'{s}'") for s in _REPLANNABLE]),
        ),
    )
    return stmt


def claim(
    conn: Connection, lane: str, worker: str, limit: int, now: datetime, lease: timedelta, *, waiting: bool
) -> list[Job]:
    """Claim up to `limit` due rows of `lane`, oldest first, skipping any whose lock has an earlier
    unfinished row. On PostgreSQL concurrent claimers skip each other's rows (SKIP LOCKED)."""
    earlier = work.alias("earlier")
    # A `sent` row comes back when due, to ask the ERP whether it took the record.
    statuses = [Status.TODO, Status.RETRYING, Status.SENT, *([Status.WAITING] if waiting else [])]
    candidates = (
        select(work.c.id)
        .where(
            work.c.lane == lane,
            work.c.status.in_(statuses),
            work.c.next_at <= now,
            ~exists().where(
                earlier.c.lock == work.c.lock,
                earlier.c.id < work.c.id,
                earlier.c.status.in_(BLOCKING),
            ),
        )
        .order_by(work.c.next_at, work.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    result = conn.execute(
        update(work)
        .where(work.c.id.in_(candidates.scalar_subquery()))
        .values(
            status=Status.DOING,
            claimed_by=worker,
            lease_until=now + lease,
            attempts=work.c.attempts + 1,
            updated_at=now,
        )
        .returning(
            work.c.id,
            work.c.kind,
            work.c.key,
            work.c.lock,
            work.c.payload,
            work.c.attempts,
            work.c.source_version,
            work.c.sent_at,
        )
    )
    jobs = [Job(*row) for row in result]
    jobs.sort(key=lambda j: j.id)
    return jobs


def record(conn: Connection, outcomes: Iterable[Outcome], now: datetime) -> None:
    """Write the outcome of claimed jobs. A link for a Done job is written in the same transaction.

    `sent_at` survives only a Sent (awaiting the ERP's acknowledgement) or a Retry (the check failed and
    comes back); any settled outcome clears it, so a parked record that is retried is sent afresh."""
    outcomes = list(outcomes)
    done: list[dict[str, Any]] = []
    new_links: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for o in outcomes:
        base = {"_id": o.job.id, "updated_at": now, "claimed_by": None, "lease_until": None}
        # While a row is with a batch ERP, `detail` holds the note made when it was sent (text trimmed to
        # fit): a later check that finds no answer, or fails, leaves it alone, and Done carries it on.
        checked = o.job.sent_at is not None
        if isinstance(o, Sent):
            row = {
                **base,
                "status": Status.SENT,
                "next_at": o.at,
                "result": o.ref,
                "sent_at": o.sent_at,
                "error_band": None,
                "reason": None,
                "owner": None,
                "field": None,
                "system": None,
                "impact_minor": 0,
                "currency": None,
            }
            others.append(row if checked and not o.note else {**row, "detail": o.note or None})
        elif isinstance(o, Done):
            done.append({**base, "result": o.result, "note": o.note or None})
            if o.link_kind:
                new_links.append(
                    {
                        "kind": o.link_kind,
                        "storefront": o.storefront,
                        "external_id": o.job.key,
                        "erp": o.erp,
                        "erp_ref": o.result,
                        "created_at": now,
                    }
                )
        elif isinstance(o, Retry):
            row = {
                **base,
                "status": Status.RETRYING,
                "next_at": o.at,
                "error_band": o.band,
                "reason": None,
                "owner": None,
                "field": None,
                "system": None,
                "impact_minor": 0,
                "currency": None,
                "sent_at": o.job.sent_at,
            }
            # the error of a failed acknowledgement check is in the event stream, and in the exception's
            # text if the retries run out; the row keeps its note
            others.append(row if checked else {**row, "detail": o.error})
        else:
            status = {Wait: Status.WAITING, Park: Status.PARKED, Skip: Status.IGNORED}[type(o)]
            p = o.problem
            others.append(
                {
                    **base,
                    "status": status,
                    "next_at": o.at if isinstance(o, Wait) else now,
                    "error_band": o.band if isinstance(o, Park) else "skippable",
                    "reason": p.reason,
                    "owner": p.owner,
                    "field": p.field,
                    "system": _system(p),
                    "detail": p.message,
                    "impact_minor": p.impact_minor,
                    "currency": p.currency,
                    "result": None,
                    "sent_at": None,
                }
            )
    execute_many(conn, "ledger.done", _mark_done, done)
    # executemany needs one set of keys per statement: a retry leaves `result` as it was.
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in others:
        by_keys.setdefault(tuple(sorted(row)), []).append(row)
    for keys, rows in by_keys.items():
        execute_many(
            conn, ("ledger.outcome", keys), lambda: update(work).where(work.c.id == bindparam("_id")), rows
        )
    execute_many(
        conn,
        "ledger.links",
        lambda: _insert(conn, links).on_conflict_do_nothing(
            index_elements=[links.c.storefront, links.c.kind, links.c.external_id]
        ),
        new_links,
    )
    history.record_outcomes(conn, outcomes, now)


def _mark_done() -> Any:
    return (
        update(work)
        .where(work.c.id == bindparam("_id"))
        .values(
            status=Status.DONE,
            result=bindparam("result"),
            sent_at=None,
            reason=None,
            owner=None,
            field=None,
            system=None,
            # a note made when the record was sent to a batch ERP stays with it once the ERP takes it
            detail=func.coalesce(
                bindparam("note"), case((work.c.sent_at.is_not(None), work.c.detail), else_=None)
            ),
            error_band=None,
            impact_minor=0,
        )
    )


def release(conn: Connection, job_ids: Sequence[int], now: datetime) -> None:
    """Hand claimed rows back untouched (a fatal error stopped the flow); the claim attempt is not counted."""
    if job_ids:
        conn.execute(
            update(work)
            .where(work.c.id.in_(job_ids), work.c.status == Status.DOING)
            .values(
                status=Status.RETRYING,
                next_at=now,
                claimed_by=None,
                lease_until=None,
                attempts=work.c.attempts - 1,
                updated_at=now,
            )
        )


def requeue_parked(conn: Connection, reasons: Sequence[str], now: datetime) -> list[str]:
    """Send parked rows with these reasons back to be planned again; returns their keys."""
    result = conn.execute(
        update(work)
        .where(work.c.status == Status.PARKED, work.c.reason.in_(list(reasons)))
        .values(status=Status.TODO, next_at=now, updated_at=now)
        .returning(work.c.key)
    )
    return [str(k) for (k,) in result]


def sweep(conn: Connection, now: datetime, dead_after: timedelta) -> int:
    """Return stalled rows to the queue: their lease ran out, or their worker stopped its heartbeat."""
    live = select(workers.c.id).where(workers.c.heartbeat_at >= now - dead_after)
    result = conn.execute(
        update(work)
        .where(
            work.c.status == Status.DOING,
            or_(work.c.lease_until < now, work.c.claimed_by.not_in(live.scalar_subquery())),
        )
        .values(status=Status.RETRYING, next_at=now, claimed_by=None, lease_until=None, updated_at=now)
    )
    return int(result.rowcount or 0)


def recheck_sent(conn: Connection, lane: str, now: datetime) -> int:
    """Make every `sent` row of `lane` due now, so that one pass asks the ERP about each of them."""
    result = conn.execute(
        update(work)
        .where(work.c.lane == lane, work.c.status == Status.SENT, work.c.next_at > now)
        .values(next_at=now)
    )
    return int(result.rowcount or 0)


def _stuck() -> Any:
    """The row is queued behind one that waits outside trueup (payment, an ERP's acknowledgement, a
    person): it cannot move before that one does, so it is neither due nor outstanding. Counting it would
    keep a --once pass from ending, and a worker would wake for it over and over."""
    earlier = work.alias("earlier")
    return exists().where(
        earlier.c.lock == work.c.lock,
        earlier.c.id < work.c.id,
        earlier.c.status.in_([Status.WAITING, Status.SENT, Status.PARKED]),
    )


def next_due(conn: Connection, lane: str, *, waiting: bool) -> datetime | None:
    statuses = [Status.TODO, Status.RETRYING, *([Status.WAITING, Status.SENT] if waiting else [])]
    value = conn.execute(
        select(func.min(work.c.next_at)).where(work.c.lane == lane, work.c.status.in_(statuses), ~_stuck())
    ).scalar()
    return value if isinstance(value, datetime) else None


def outstanding(conn: Connection, lane: str) -> int:
    """Rows of `lane` still to finish, not counting those waiting on something outside trueup (payment,
    or a batch ERP's acknowledgement)."""
    statuses = [Status.TODO, Status.DOING, Status.RETRYING]
    return int(
        conn.execute(
            select(func.count())
            .select_from(work)
            .where(work.c.lane == lane, work.c.status.in_(statuses), ~_stuck())
        ).scalar_one()
    )


def counts(conn: Connection, kind: str | None = None) -> dict[str, int]:
    query = select(work.c.status, func.count()).group_by(work.c.status)
    if kind:
        query = query.where(work.c.kind == kind)
    return {str(status): int(n) for status, n in conn.execute(query)}


def counts_by_reason(conn: Connection, statuses: Sequence[Status] = (Status.PARKED,)) -> dict[str, int]:
    query = (
        select(work.c.reason, func.count())
        .where(work.c.status.in_(statuses), work.c.reason.is_not(None))
        .group_by(work.c.reason)
    )
    return {str(reason): int(n) for reason, n in conn.execute(query)}


def heartbeat(conn: Connection, worker: str, host: str, pid: int, now: datetime) -> None:
    stmt = _insert(conn, workers).values(id=worker, host=host, pid=pid, started_at=now, heartbeat_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=[workers.c.id], set_={"heartbeat_at": now}))


def forget_workers(conn: Connection, keep: str) -> None:
    """Embedded mode owns the database alone: every other worker row is a dead process."""
    conn.execute(workers.delete().where(workers.c.id != keep))
