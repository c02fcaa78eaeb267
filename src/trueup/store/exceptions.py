"""The exception queue: a view of parked ledger rows, and the manual actions on them (each audited)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from trueup.model.work import Status
from trueup.security.crypto import PayloadCipher, open_payload
from trueup.store.schema import work
from trueup.store.state import add_audit, audit_for

OPEN = (Status.PARKED,)


@dataclass(frozen=True, slots=True)
class ExceptionRow:
    id: int
    kind: str
    key: str
    status: str
    reason: str | None
    owner: str | None
    field: str | None
    system: str | None
    detail: str | None
    attempts: int
    impact_minor: int
    currency: str | None
    error_band: str | None
    created_at: str
    updated_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_COLUMNS = (
    work.c.id,
    work.c.kind,
    work.c.key,
    work.c.status,
    work.c.reason,
    work.c.owner,
    work.c.field,
    work.c.system,
    work.c.detail,
    work.c.attempts,
    work.c.impact_minor,
    work.c.currency,
    work.c.error_band,
    work.c.created_at,
    work.c.updated_at,
)


def _row(r: Any) -> ExceptionRow:
    values = list(r)
    values[-2] = values[-2].isoformat()
    values[-1] = values[-1].isoformat()
    return ExceptionRow(*values)


def list_exceptions(
    conn: Connection,
    *,
    statuses: tuple[str, ...] = OPEN,
    reason: str | None = None,
    owner: str | None = None,
    limit: int = 100,
) -> list[ExceptionRow]:
    query = select(*_COLUMNS).where(work.c.status.in_(statuses)).order_by(work.c.id).limit(limit)
    if reason:
        query = query.where(work.c.reason == reason)
    if owner:
        query = query.where(work.c.owner == owner)
    return [_row(r) for r in conn.execute(query)]


def find(conn: Connection, ident: str) -> ExceptionRow | None:
    """By ledger id (`#12` or `12`) or by key (an order id)."""
    query = select(*_COLUMNS)
    raw = ident.lstrip("#")
    query = (
        query.where(work.c.id == int(raw))
        if raw.isdigit() and ident.startswith("#")
        else query.where(work.c.key == ident)
    )
    rows = list(conn.execute(query.order_by(work.c.id)))
    if not rows and raw.isdigit():
        rows = list(conn.execute(select(*_COLUMNS).where(work.c.id == int(raw))))
    return _row(rows[0]) if rows else None


def show(conn: Connection, ident: str, cipher: PayloadCipher | None = None) -> dict[str, Any] | None:
    row = find(conn, ident)
    if row is None:
        return None
    stored = conn.execute(select(work.c.payload).where(work.c.id == row.id)).scalar_one()
    payload = open_payload(stored, cipher)
    try:
        parsed: Any = json.loads(payload)
    except ValueError:
        parsed = payload
    return {**row.as_dict(), "payload": parsed, "audit": audit_for(conn, row.kind, row.key)}


_TRANSITIONS: dict[str, tuple[tuple[Status, ...], Status]] = {
    "retry": ((Status.PARKED, Status.RETRYING, Status.WAITING, Status.IGNORED), Status.TODO),
    "resolve": ((Status.PARKED, Status.RETRYING, Status.WAITING), Status.RESOLVED),
    "ignore": ((Status.PARKED, Status.RETRYING, Status.WAITING), Status.IGNORED),
}


def act(conn: Connection, action: str, row: ExceptionRow, *, actor: str, note: str, now: datetime) -> bool:
    """Apply a manual action to one row, audited in the same transaction. False if the row's status
    does not allow it (e.g. retrying a row that is already done)."""
    allowed, target = _TRANSITIONS[action]
    values: dict[str, Any] = {"status": target, "updated_at": now}
    if action == "retry":
        values.update(next_at=now, attempts=0)
    result = conn.execute(
        update(work).where(work.c.id == row.id, work.c.status.in_(allowed)).values(**values)
    )
    if not result.rowcount:
        return False
    add_audit(
        conn,
        at=now,
        actor=actor,
        action=action,
        kind=row.kind,
        key=row.key,
        note=note,
        detail={"from": row.status, "to": str(target), "reason": row.reason},
    )
    return True
