"""The exception queue: a view of parked ledger rows, and the manual actions on them (each audited)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from trueup.model.exceptions import REASONS, Reason, actions_for
from trueup.model.work import Status
from trueup.security.crypto import PayloadCipher, open_payload
from trueup.store.history import add_event, events_for, last_raised, with_history
from trueup.store.schema import work, work_events
from trueup.store.state import add_audit, audit_for

history_reason = work_events.alias("history_reason")

OPEN = (Status.PARKED,)
# The queue's views (`exceptions list --status`): open needs a person; cleared was an exception and is no
# longer (resolved by a person, or posted after being held); ignored needs nothing.
VIEWS = ("open", "cleared", "ignored", "all")


def _view(view: str) -> Any:
    cleared = or_(work.c.status == Status.RESOLVED, and_(work.c.status == Status.DONE, with_history()))
    clauses = {
        "open": work.c.status == Status.PARKED,
        "ignored": work.c.status == Status.IGNORED,
        "cleared": cleared,
    }
    if view == "all":
        return or_(*clauses.values())
    return clauses[view]


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
    limit: int | None = 100,
    view: str | None = None,
    since: datetime | None = None,
) -> list[ExceptionRow]:
    """Exceptions, oldest first. `view` (open, cleared, ignored, all) overrides `statuses`; a cleared row
    that posted shows the reason it was last held for (from its history). `since` is on the last change."""
    where = _view(view) if view else work.c.status.in_(statuses)
    query = select(*_COLUMNS).where(where).order_by(work.c.id)
    if limit is not None:
        query = query.limit(limit)
    if since is not None:
        query = query.where(work.c.updated_at >= since)
    if reason or owner:
        # a posted row has no reason of its own any more: filter it by its history's
        held = select(history_reason.c.work_id).where(
            *([history_reason.c.reason == reason] if reason else []),
            *([history_reason.c.owner == owner] if owner else []),
        )
        mine = and_(
            *([work.c.reason == reason] if reason else []), *([work.c.owner == owner] if owner else [])
        )
        query = query.where(or_(mine, and_(work.c.status == Status.DONE, work.c.id.in_(held))))
    rows = [_row(r) for r in conn.execute(query)]
    posted = [r.id for r in rows if r.reason is None]
    if not posted:
        return rows
    last = last_raised(conn, posted)
    return [replace(r, **last[r.id]) if r.id in last else r for r in rows]


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
    if row.reason is None:  # posted or in flight: the reason it was held for is in its history
        row = replace(row, **last_raised(conn, [row.id]).get(row.id, {}))
    history = events_for(conn, row.id)
    if not history and row.reason:  # raised before history was kept, or by a check: its creation
        history = [{"at": row.created_at, "event": "raised", "actor": "engine", "action": "",
                    "status": row.status, "reason": row.reason, "owner": row.owner,
                    "note": row.detail or "", "detail": {}}]  # fmt: skip
    known = row.reason in {str(r) for r in REASONS}
    return {
        **row.as_dict(),
        "resolution": REASONS[Reason(row.reason)].resolution if known and row.reason else None,
        "actions": [str(a) for a in actions_for(row.reason)],
        "payload": parsed,
        "history": history,
        "audit": audit_for(conn, row.kind, row.key),
    }


_TRANSITIONS: dict[str, tuple[tuple[Status, ...], Status]] = {
    "retry": ((Status.PARKED, Status.RETRYING, Status.WAITING, Status.IGNORED), Status.TODO),
    # a retried row (todo again) can still be resolved or ignored, before or after it runs
    "resolve": ((Status.PARKED, Status.TODO, Status.RETRYING, Status.WAITING), Status.RESOLVED),
    "ignore": ((Status.PARKED, Status.TODO, Status.RETRYING, Status.WAITING), Status.IGNORED),
}
# The actions that end in a retry: each is a retry, with its own work done first (trueup.queue.actions).
for _name in ("accept_and_post", "map_and_retry", "edit_and_post"):
    _TRANSITIONS[_name] = ((Status.PARKED, Status.RETRYING, Status.WAITING, Status.TODO), Status.TODO)


def act(
    conn: Connection,
    action: str,
    row: ExceptionRow,
    *,
    actor: str,
    note: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
    payload: str | None = None,
) -> bool:
    """Apply a manual action to one row, audited and written to its history in the same transaction.
    False if the row's status does not allow it (e.g. retrying a row that is already done). `payload`
    replaces the stored payload (sealed by the caller), for an edit."""
    allowed, target = _TRANSITIONS[action]
    values: dict[str, Any] = {"status": target, "updated_at": now}
    if target == Status.TODO:
        values.update(next_at=now, attempts=0)
    if payload is not None:
        values["payload"] = payload
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
        detail={"from": row.status, "to": str(target), "reason": row.reason, **(detail or {})},
    )
    add_event(
        conn,
        row.id,
        now,
        "action",
        status=str(target),
        actor=actor,
        action=action,
        reason=row.reason,
        owner=row.owner,
        note=note,
        detail={"from": row.status, **(detail or {})},
    )
    return True


# Public names for readers that page the queue their own way (the web dashboard's keyset list).
COLUMNS = _COLUMNS


def to_row(r: Any) -> ExceptionRow:
    """An `ExceptionRow` from a row selected with `COLUMNS`."""
    return _row(r)
