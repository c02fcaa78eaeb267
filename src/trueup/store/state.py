"""Cursors and the audit trail."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from trueup.store.ledger import _insert
from trueup.store.schema import audit, cursors


def get_cursor(conn: Connection, flow: str, source: str) -> str | None:
    value = conn.execute(
        select(cursors.c.value).where(cursors.c.flow == flow, cursors.c.source == source)
    ).scalar()
    return str(value) if value is not None else None


def set_cursor(conn: Connection, flow: str, source: str, value: str, now: datetime) -> None:
    """Move the cursor forward only: a page observed out of order never moves it back."""
    current = get_cursor(conn, flow, source)
    if current is not None and current >= value:
        return
    stmt = _insert(conn, cursors).values(flow=flow, source=source, value=value, updated_at=now)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[cursors.c.flow, cursors.c.source], set_={"value": value, "updated_at": now}
        )
    )


def add_audit(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    kind: str,
    key: str,
    note: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(audit).values(
            at=at,
            actor=actor,
            action=action,
            kind=kind,
            key=key,
            note=note,
            detail=json.dumps(detail or {}, default=str, sort_keys=True),
        )
    )


def audit_for(conn: Connection, kind: str, key: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(audit.c.at, audit.c.actor, audit.c.action, audit.c.note, audit.c.detail)
        .where(audit.c.kind == kind, audit.c.key == key)
        .order_by(audit.c.id)
    )
    return [
        {"at": at.isoformat(), "actor": actor, "action": action, "note": note, "detail": json.loads(detail)}
        for at, actor, action, note, detail in rows
    ]
