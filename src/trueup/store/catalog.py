"""The catalogue flow's table `pushed_items`: written in the ledger's record transaction, so a batch's
products reach it in the same commit that marks the batch done (as `pushed_stock` for stock)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, select

from trueup.model.catalog import ITEM_KIND, Pushed, item_rows
from trueup.model.work import Done, Outcome
from trueup.store.ledger import _insert
from trueup.store.schema import pushed_items

_CHUNK = 5000


def record_items(conn: Connection, outcomes: Iterable[Outcome], now: datetime) -> int:
    values = [
        {
            "sku": r.sku,
            "digest": r.digest(),
            "erp_item_id": r.erp_item_id[:64],
            "barcode": r.barcode[:32],
            "batch": o.job.key,
            "pushed_at": now,
        }
        for o in outcomes
        if isinstance(o, Done) and o.job.kind == ITEM_KIND
        for r in item_rows(o.job.payload)
    ]
    if not values:
        return 0
    stmt = _insert(conn, pushed_items)
    stmt = stmt.on_conflict_do_update(
        index_elements=[pushed_items.c.sku],
        set_={
            name: getattr(stmt.excluded, name)
            for name in ("digest", "erp_item_id", "barcode", "batch", "pushed_at")
        },
    )
    for start in range(0, len(values), _CHUNK):
        conn.execute(stmt, values[start : start + _CHUNK])
    return len(values)


def pushed_item_rows(conn: Connection) -> dict[str, Pushed]:
    c = pushed_items.c
    query = select(c.sku, c.digest, c.erp_item_id, c.barcode)
    return {str(s): Pushed(str(d), str(i), str(b)) for s, d, i, b in conn.execute(query)}
