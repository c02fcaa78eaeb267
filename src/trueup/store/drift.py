"""Standing findings as exceptions that clear themselves and come back: stock and price drift, and the
catalogue's duplicate and bundle SKUs (states of the item master, not events).

A check reports every drift it finds *now*. Each becomes a parked `work` row of kind
`check.<reason>` keyed by system and pair (the (kind, key) constraint keeps it one row however often it is
seen). A drift no longer seen is resolved by the engine (`result = cleared`, audited). A drift seen again
after it cleared is reopened (audited), even if a person had resolved it: their resolution held for that
episode. While a drift persists, a person's resolve or ignore is left alone (their decision).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, literal_column, or_, select, update

from trueup.model.checks import FINDING_LANE, finding_kind
from trueup.model.exceptions import Reason, owner_of
from trueup.model.work import InputRejection, Status
from trueup.store.checks import CLEARED
from trueup.store.ledger import _insert
from trueup.store.schema import work
from trueup.store.state import add_audit

_CHUNK = 1000


def report_drift(
    conn: Connection, reason: Reason, findings: Sequence[InputRejection], now: datetime
) -> tuple[int, int]:
    """Record the complete set of `reason` drifts seen now; returns (opened or reopened, cleared)."""
    kind = finding_kind(reason)
    current = {f"{f.source}:{f.key}"[:128]: f for f in findings}
    known = {
        str(key): (str(status), result)
        for key, status, result in conn.execute(
            select(work.c.key, work.c.status, work.c.result).where(work.c.kind == kind)
        )
    }
    opened = [k for k in current if k not in known or (known[k][1] == CLEARED)]
    if current:
        _upsert(conn, kind, reason, current, now)
    for key in opened:
        if key in known:
            add_audit(conn, at=now, actor="engine", action="reopen", kind=kind, key=key,
                      note="the drift is back", detail={"was": known[key][0]})  # fmt: skip
    gone = [k for k, (status, result) in known.items() if k not in current and result != CLEARED
            and status in (Status.PARKED, Status.RESOLVED)]  # fmt: skip
    for start in range(0, len(gone), _CHUNK):
        chunk = gone[start : start + _CHUNK]
        conn.execute(
            update(work)
            .where(work.c.kind == kind, work.c.key.in_(chunk))
            .values(status=Status.RESOLVED, result=CLEARED, updated_at=now)
        )
    for key in gone:
        add_audit(conn, at=now, actor="engine", action="clear", kind=kind, key=key, note="the drift is gone")
    return len(opened), len(gone)


def _upsert(
    conn: Connection, kind: str, reason: Reason, current: dict[str, InputRejection], now: datetime
) -> None:
    values: list[dict[str, Any]] = [
        {
            "kind": kind,
            "key": key,
            "lane": FINDING_LANE,
            "lock": f"check:{reason}:{key}"[:160],
            "payload": json.dumps({"source": f.source, "key": f.key, "reason": str(reason)}),
            "source_version": "",
            "status": Status.PARKED,
            "attempts": 0,
            "next_at": now,
            "reason": str(reason),
            "owner": str(owner_of(reason)),
            "detail": f.message,
            "field": f.field,
            "system": f.source,
            "error_band": "skippable",
            "impact_minor": 0,
            "currency": None,
            "result": None,
            "created_at": now,
            "updated_at": now,
        }
        for key, f in current.items()
    ]
    stmt = _insert(conn, work)
    excluded = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=[work.c.kind, work.c.key],
        set_={
            "status": excluded.status,
            "detail": excluded.detail,
            "result": None,
            "updated_at": excluded.updated_at,
        },
        # A parked finding takes the latest figures; a cleared one reopens; a person's decision on a drift
        # that never went away stands.
        where=or_(
            and_(work.c.status == literal_column(f"'{Status.PARKED}'"), work.c.detail != excluded.detail),
            work.c.result == literal_column(f"'{CLEARED}'"),
        ),
    )
    for start in range(0, len(values), _CHUNK):
        conn.execute(stmt, values[start : start + _CHUNK])
