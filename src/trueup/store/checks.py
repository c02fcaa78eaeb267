"""The checks' side of the ledger: what the ledger and links say about a page of orders (two queries, not
one per order), and a sweep's repairs, findings and clears, written in one transaction and audited.

A finding is a parked `work` row of kind `check.<reason>` keyed by the order id, in the `checks` lane: the
(kind, key) unique constraint is its idempotency key, so a finding seen on every sweep stays one row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, literal_column, or_, select, update

from trueup.model.checks import FINDING_LANE, LedgerView, SweepWrite, finding_kind
from trueup.model.exceptions import Reason
from trueup.model.work import Status
from trueup.store import ledger
from trueup.store.schema import links, work
from trueup.store.state import add_audit, get_cursor

_REASONS = (Reason.ORPHANED_ORDER, Reason.MISSING_IN_ERP)
_BY_KIND = {finding_kind(r): str(r) for r in _REASONS}
CLEARED = "cleared"  # `result` of a finding the engine resolved itself: reopened if its cause returns


def order_views(
    conn: Connection, keys: Sequence[str], *, order_kind: str, link_kind: str, storefront: str
) -> dict[str, LedgerView]:
    """The ledger's view of each key that it knows anything about (absent: no row, no link, no finding)."""
    if not keys:
        return {}
    status: dict[str, tuple[str, str]] = {}
    findings: dict[str, dict[str, str]] = {}
    rows = conn.execute(
        select(work.c.kind, work.c.key, work.c.status, work.c.source_version, work.c.result).where(
            work.c.kind.in_([order_kind, *_BY_KIND]), work.c.key.in_(list(keys))
        )
    )
    for kind, key, row_status, version, result in rows:
        if kind == order_kind:
            status[key] = (row_status, version)
        else:
            cleared = row_status == Status.RESOLVED and result == CLEARED
            findings.setdefault(key, {})[_BY_KIND[kind]] = CLEARED if cleared else str(row_status)
    refs = dict(
        conn.execute(
            select(links.c.external_id, links.c.erp_ref).where(
                links.c.kind == link_kind,
                links.c.storefront == storefront,
                links.c.external_id.in_(list(keys)),
            )
        ).all()
    )
    out: dict[str, LedgerView] = {}
    for key in {*status, *findings, *refs}:
        row_status, version = status.get(key, (None, ""))
        out[key] = LedgerView(row_status, version, refs.get(key), findings.get(key, {}))
    return out


def observed_until(conn: Connection, flow: str, source: str) -> datetime | None:
    value = get_cursor(conn, flow, source)
    return datetime.fromisoformat(value) if value else None


def write_sweep(
    conn: Connection,
    write: SweepWrite,
    now: datetime,
    *,
    order_kind: str,
    link_kind: str,
    storefront: str,
    check: str = "orphan sweep",
) -> None:
    # Repairs go in exactly as observation writes them: the (kind, key) constraint makes a race harmless.
    ledger.enqueue(conn, list(write.repairs), now)
    if write.findings:
        _upsert_findings(conn, write, now)
    for f in write.findings:
        if f.new:
            add_audit(
                conn,
                at=now,
                actor="engine",
                action="found",
                kind=finding_kind(f.problem.reason),
                key=f.key,
                note=check,
                detail={"repaired": f.repair is not None, "impact_minor": f.problem.impact_minor},
            )
    for c in write.clears:
        _resolve(conn, c.reason, c.key, now, action="clear", note=c.why)
    for r in write.resends:
        # The ERP lost the order and a person chose to send it again: the post row goes back to be
        # claimed (a fresh first attempt, so it posts rather than finds), and the stale link goes.
        conn.execute(
            update(work)
            .where(work.c.kind == order_kind, work.c.key == r.key, work.c.status == Status.DONE)
            .values(status=Status.TODO, next_at=now, attempts=0, result=None, updated_at=now)
        )
        conn.execute(
            delete(links).where(
                links.c.kind == link_kind, links.c.storefront == storefront, links.c.external_id == r.key
            )
        )
        _resolve(conn, Reason.MISSING_IN_ERP, r.key, now, action="resend", note="sent to the ERP again")


def _upsert_findings(conn: Connection, write: SweepWrite, now: datetime) -> None:
    values: list[dict[str, Any]] = []
    for f in write.findings:
        p = f.problem
        values.append(
            {
                "kind": finding_kind(p.reason),
                "key": f.key,
                "lane": FINDING_LANE,
                "lock": f"check:{p.reason}:{f.key}"[:160],
                "payload": json.dumps({"order": f.key, "reason": str(p.reason)}),
                "source_version": "",
                "status": Status.PARKED,
                "attempts": 0,
                "next_at": now,
                "reason": p.reason,
                "owner": p.owner,
                "detail": p.message,
                "field": p.field,
                "system": p.system,
                "error_band": "skippable",
                "impact_minor": p.impact_minor,
                "currency": p.currency,
                "result": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    stmt = ledger._insert(conn, work)
    excluded = stmt.excluded
    parked: Any = literal_column(f"'{Status.PARKED}'")
    stmt = stmt.on_conflict_do_update(
        index_elements=[work.c.kind, work.c.key],
        set_={
            name: getattr(excluded, name)
            for name in ("status", "reason", "owner", "detail", "system", "impact_minor", "currency")
        }
        | {"result": None, "updated_at": excluded.updated_at},
        # Rewrite only what changed; never reopen what a person resolved or ignored (their decision).
        where=or_(
            and_(work.c.status == parked, work.c.detail != excluded.detail),
            work.c.status == literal_column(f"'{Status.TODO}'"),
            and_(
                work.c.status == literal_column(f"'{Status.RESOLVED}'"),
                work.c.result == literal_column(f"'{CLEARED}'"),
            ),
        ),
    )
    conn.execute(stmt, values)


def _resolve(conn: Connection, reason: str, key: str, now: datetime, *, action: str, note: str) -> None:
    kind = finding_kind(reason)
    result = conn.execute(
        update(work)
        .where(work.c.kind == kind, work.c.key == key, work.c.status.in_([Status.PARKED, Status.TODO]))
        .values(status=Status.RESOLVED, result=CLEARED, updated_at=now)
    )
    if result.rowcount:
        add_audit(conn, at=now, actor="engine", action=action, kind=kind, key=key, note=note)
