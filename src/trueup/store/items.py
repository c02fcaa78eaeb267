"""The item map: storefront SKU ⇄ ERP item, as last read from the ERP's item master."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, or_, select, text

from trueup.model.items import ErpItem
from trueup.store.ledger import _insert
from trueup.store.schema import item_map


def upsert_items(conn: Connection, erp: str, items: Sequence[ErpItem], now: datetime) -> int:
    """Insert or update items; returns how many were new or changed (unchanged rows are not rewritten)."""
    if not items:
        return 0
    if conn.dialect.name == "postgresql":
        # Engines sharing one database refresh the item map at the same moment. ON CONFLICT arbitrates
        # only (erp, sku): a concurrent insert of the same item still trips the (erp, erp_item_id) unique
        # index. One refresh at a time per ERP, held until this transaction ends.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"item_map:{erp}"})
    values = [
        {
            "erp": erp,
            "sku": i.sku,
            "erp_item_id": i.erp_item_id,
            "barcode": i.barcode,
            "pid": i.pid,
            "name": i.name,
            "active": i.active,
            "source_version": i.source_version,
            "updated_at": now,
        }
        for i in items
    ]
    stmt = _insert(conn, item_map)
    excluded = stmt.excluded
    changed = or_(
        *(
            item_map.c[name].is_distinct_from(excluded[name])
            for name in ("erp_item_id", "barcode", "pid", "name", "active", "source_version")
        )
    )
    result = conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[item_map.c.erp, item_map.c.sku],
            set_={
                "erp_item_id": excluded.erp_item_id,
                "barcode": excluded.barcode,
                "pid": excluded.pid,
                "name": excluded.name,
                "active": excluded.active,
                "source_version": excluded.source_version,
                "updated_at": excluded.updated_at,
            },
            where=changed,
        ),
        values,
    )
    return int(result.rowcount or 0)


def items_for(conn: Connection, erp: str, skus: Iterable[str]) -> dict[str, ErpItem]:
    wanted = sorted(set(skus))
    found: dict[str, ErpItem] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(
                item_map.c.sku,
                item_map.c.erp_item_id,
                item_map.c.barcode,
                item_map.c.pid,
                item_map.c.active,
                item_map.c.name,
                item_map.c.source_version,
            ).where(item_map.c.erp == erp, item_map.c.sku.in_(wanted[start : start + 500]))
        )
        for sku, item_id, barcode, pid, active, name, version in rows:
            found[sku] = ErpItem(sku, item_id, barcode, pid, bool(active), name, version)
    return found
