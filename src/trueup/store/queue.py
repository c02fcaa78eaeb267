"""The exception queue's own tables: mappings added from the queue, and finance's accepted variances."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from trueup.model.queue import Accepted, OrderOverrides
from trueup.store.schema import accepted_variances, queue_mappings, work


def mappings(conn: Connection) -> dict[str, dict[str, str]]:
    """kind (sku | carrier) -> source -> target, as added from the queue."""
    out: dict[str, dict[str, str]] = {"sku": {}, "carrier": {}}
    for kind, source, target in conn.execute(
        select(queue_mappings.c.kind, queue_mappings.c.source, queue_mappings.c.target)
    ):
        out.setdefault(kind, {})[source] = target
    return out


def mapping_rows(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(queue_mappings).order_by(queue_mappings.c.id))
    return [{**dict(r._mapping), "created_at": r.created_at.isoformat()} for r in rows]


def add_mapping(
    conn: Connection, kind: str, source: str, target: str, *, actor: str, note: str, now: datetime
) -> bool:
    """Add one mapping; False if the queue already maps `source` (to the same target: nothing to do)."""
    existing = conn.execute(
        select(queue_mappings.c.target).where(
            queue_mappings.c.kind == kind, queue_mappings.c.source == source
        )
    ).scalar()
    if existing is not None:
        if existing != target:
            raise ValueError(f"{kind} {source!r} is already mapped to {existing!r} from the queue")
        return False
    conn.execute(
        insert(queue_mappings).values(
            kind=kind, source=source, target=target, actor=actor, note=note, created_at=now
        )
    )
    return True


def accepted_for(conn: Connection, kind: str, keys: Sequence[str] | None) -> dict[str, frozenset[Accepted]]:
    if keys is not None and not keys:
        return {}
    query = select(
        accepted_variances.c.key,
        accepted_variances.c.reason,
        accepted_variances.c.field,
        accepted_variances.c.actual,
    ).where(accepted_variances.c.kind == kind)
    if keys is not None:
        query = query.where(accepted_variances.c.key.in_(list(keys)))
    found: dict[str, set[Accepted]] = {}
    for key, reason, field, actual in conn.execute(query):
        found.setdefault(key, set()).add((reason, field, actual))
    return {k: frozenset(v) for k, v in found.items()}


def order_overrides(conn: Connection, kind: str, keys: Sequence[str] | None) -> OrderOverrides:
    """The queue's mappings, and the variances accepted for `keys` (every key of `kind` when None)."""
    maps = mappings(conn)
    carriers = {k: _carrier(v) for k, v in maps.get("carrier", {}).items()}
    return OrderOverrides(carriers, maps.get("sku", {}), accepted_for(conn, kind, keys))


# Built once: a statement's construction costs more than its (cached) execution.
_GENERATION = select(
    select(func.coalesce(func.max(queue_mappings.c.id), 0)).scalar_subquery(),
    select(func.coalesce(func.max(accepted_variances.c.id), 0)).scalar_subquery(),
)


def generation(conn: Connection) -> tuple[int, int]:
    """Changes whenever a mapping or an accepted variance is added (both tables are append-only): one
    cheap query that lets a reader keep what it read until then."""
    row = conn.execute(_GENERATION).one()
    return int(row[0]), int(row[1])


def _carrier(text: str) -> tuple[str, str]:
    carrier, _, service = text.partition("/")
    return carrier, service


def add_variances(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    for row in rows:
        known = conn.execute(
            select(accepted_variances.c.id).where(
                accepted_variances.c.kind == row["kind"],
                accepted_variances.c.key == row["key"],
                accepted_variances.c.reason == row["reason"],
                accepted_variances.c.field == row["field"],
                accepted_variances.c.actual == row["actual"],
            )
        ).scalar()
        if known is None:
            conn.execute(insert(accepted_variances).values(**row))


def variances(
    conn: Connection, *, status: str = "open", since: datetime | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """Finance's reconciliation list: each accepted variance, whether its order has posted (and as which ERP
    document), and whether finance has reconciled it. `status`: open (not reconciled), reconciled or all."""
    query = (
        select(accepted_variances, work.c.status.label("order_status"), work.c.result.label("erp_ref"))
        .join(work, work.c.id == accepted_variances.c.work_id, isouter=True)
        .order_by(accepted_variances.c.id)
        .limit(limit)
    )
    if status == "open":
        query = query.where(accepted_variances.c.reconciled_at.is_(None))
    elif status == "reconciled":
        query = query.where(accepted_variances.c.reconciled_at.is_not(None))
    if since is not None:
        query = query.where(accepted_variances.c.accepted_at >= since)
    out = []
    for r in conn.execute(query):
        row = dict(r._mapping)
        row["posted"] = row["order_status"] == "done"
        for k in ("accepted_at", "reconciled_at"):
            row[k] = row[k].isoformat() if row[k] else None
        out.append(row)
    return out


def reconcile(conn: Connection, ids: Sequence[int], *, actor: str, now: datetime) -> int:
    result = conn.execute(
        update(accepted_variances)
        .where(accepted_variances.c.id.in_(list(ids)), accepted_variances.c.reconciled_at.is_(None))
        .values(reconciled_at=now, reconciled_by=actor)
    )
    return int(result.rowcount or 0)
