"""The exception queue's history: each exception's whole life as rows of `work_events`.

Written in the same transaction as what it records: `raised` when a record parks (or is skipped with a
reason), `failed` for each attempt that failed with an error, `action` for each person's action (actor and
note), `cleared` when a record that was ever an exception finally posts. Nothing here is ever updated or
deleted, so a record that posts keeps the reasons it was held for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, insert, select, tuple_

from trueup.model.work import Done, NewWork, Outcome, Park, Retry, Skip, Status
from trueup.store.schema import work, work_events


def add_event(
    conn: Connection,
    work_id: int,
    at: datetime,
    event: str,
    *,
    status: str = "",
    actor: str = "",
    action: str = "",
    reason: str | None = None,
    owner: str | None = None,
    note: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(work_events).values(
            work_id=work_id,
            at=at,
            event=event,
            actor=actor,
            action=action,
            status=status,
            reason=reason,
            owner=owner,
            note=note,
            detail=json.dumps(detail or {}, default=str, sort_keys=True),
        )
    )


def _row(work_id: int, at: datetime, event: str, status: str, **values: Any) -> dict[str, Any]:
    base = {"actor": "engine", "action": "", "reason": None, "owner": None, "note": "", "detail": "{}"}
    return {**base, "work_id": work_id, "at": at, "event": event, "status": status, **values}


def record_outcomes(conn: Connection, outcomes: Iterable[Outcome], now: datetime) -> None:
    """The events of one recorded batch. A plain success writes nothing unless the record was ever raised
    as an exception: then one `cleared` event closes its history (one INSERT … SELECT for the batch)."""
    rows: list[dict[str, Any]] = []
    done: list[int] = []
    for o in outcomes:
        if isinstance(o, Park | Skip):
            p = o.problem
            status = Status.PARKED if isinstance(o, Park) else Status.IGNORED
            rows.append(
                _row(o.job.id, now, "raised", status, reason=p.reason, owner=p.owner, note=p.message,
                     detail=json.dumps({"attempt": o.job.attempts, "field": p.field}))
            )  # fmt: skip
        elif isinstance(o, Retry):
            rows.append(
                _row(o.job.id, now, "failed", Status.RETRYING, note=o.error,
                     detail=json.dumps({"attempt": o.job.attempts, "band": str(o.band)}))
            )  # fmt: skip
        elif isinstance(o, Done):
            done.append(o.job.id)
    if rows:
        conn.execute(insert(work_events), rows)
    if done:
        cleared(conn, done, now)


# Built once (a statement's construction costs more than its cached execution): which of a batch's ids
# were ever raised as exceptions.
_RAISED = (
    select(work_events.c.work_id)
    .where(work_events.c.work_id.in_(bindparam("ids", expanding=True)), work_events.c.event == "raised")
    .distinct()
)


def cleared(conn: Connection, ids: Sequence[int], now: datetime) -> None:
    """A `cleared` event for each of `ids` that was raised as an exception (a record that only had
    transient failed attempts was never an exception: its `failed` events stay, it is not `cleared`).
    One indexed lookup per batch; a batch of records that were never exceptions writes nothing."""
    raised = {wid for (wid,) in conn.execute(_RAISED, {"ids": list(ids)})}
    if raised:
        statuses = dict(
            conn.execute(select(work.c.id, work.c.status).where(work.c.id.in_(sorted(raised)))).all()
        )
        conn.execute(
            insert(work_events),
            [_row(wid, now, "cleared", str(statuses.get(wid, "")), detail="{}") for wid in sorted(raised)],
        )


def raised_on_enqueue(conn: Connection, rows: Sequence[NewWork], now: datetime) -> None:
    """A `raised` event for each record observation parked at once (unreadable), when it was written now
    (a re-observed, unchanged record is not raised twice)."""
    parked = [r for r in rows if r.parked]
    if not parked:
        return
    keys = [(r.kind, r.key) for r in parked]
    found = conn.execute(
        select(work.c.id, work.c.reason, work.c.owner, work.c.detail).where(
            tuple_(work.c.kind, work.c.key).in_(keys),
            and_(work.c.status == Status.PARKED, work.c.updated_at == now),
        )
    )
    events = [
        _row(wid, now, "raised", Status.PARKED, reason=reason, owner=owner, note=detail or "")
        for wid, reason, owner, detail in found
    ]
    if events:
        conn.execute(insert(work_events), events)


def events_for(conn: Connection, work_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            work_events.c.at,
            work_events.c.event,
            work_events.c.actor,
            work_events.c.action,
            work_events.c.status,
            work_events.c.reason,
            work_events.c.owner,
            work_events.c.note,
            work_events.c.detail,
        )
        .where(work_events.c.work_id == work_id)
        .order_by(work_events.c.id)
    )
    return [
        {**dict(r._mapping), "at": r.at.isoformat(), "detail": json.loads(r.detail or "{}")} for r in rows
    ]


def last_raised(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """For each id, the last reason it was held for (the reason a posted record once had)."""
    if not ids:
        return {}
    rows = conn.execute(
        select(work_events.c.work_id, work_events.c.reason, work_events.c.owner, work_events.c.note)
        .where(work_events.c.work_id.in_(list(ids)), work_events.c.event == "raised")
        .order_by(work_events.c.id)
    )
    return {r.work_id: {"reason": r.reason, "owner": r.owner, "detail": r.note} for r in rows}


def with_history(ids: Sequence[int] | None = None) -> Any:
    """A WHERE clause: the work row was raised as an exception at least once."""
    clause = exists().where(work_events.c.work_id == work.c.id, work_events.c.event == "raised")
    return clause if ids is None else and_(clause, work.c.id.in_(list(ids)))
