"""Two storefront records under one ledger key (an increment id Magento handed out twice, after an import
or a restore): the key is the idempotency key, so the second would silently merge into the first and never
reach the ERP. The second is kept instead, parked under a key of its own, naming both entity ids.

Observation encodes the record's own identity (Magento's entity id) in `source_version` after `#e`
(`SourceOrder.ledger_version`), so that
one look-up per page (by the unique (kind, key) index) tells the same record updated from another record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import Connection, select

from trueup.model.exceptions import Reason
from trueup.model.work import NewWork, Problem
from trueup.ports import ENTITY_MARK
from trueup.store.schema import work


def entity_of(version: str) -> str:
    return version.rpartition(ENTITY_MARK)[2] if ENTITY_MARK in version else ""


def park_reused_keys(conn: Connection, rows: Sequence[NewWork]) -> list[NewWork]:
    """`rows` with each one whose key already belongs to another record (in the ledger, or earlier in
    `rows`) moved to `<key>~entity-<id>` and parked as `duplicate_order_id`. The first record is untouched."""
    marked = [r for r in rows if entity_of(r.source_version)]
    if not marked:
        return list(rows)
    owners: dict[tuple[str, str], str] = {}
    for kind in {r.kind for r in marked}:
        keys = list({r.key for r in marked if r.kind == kind})
        query = select(work.c.key, work.c.source_version).where(work.c.kind == kind, work.c.key.in_(keys))
        for key, version in conn.execute(query):
            if entity_of(version):  # a row written before entity ids were kept cannot be told apart
                owners[(kind, key)] = entity_of(version)
    out: list[NewWork] = []
    for row in rows:
        entity = entity_of(row.source_version)
        first = owners.setdefault((row.kind, row.key), entity) if entity else entity
        if first == entity:
            out.append(row)
            continue
        problem = Problem.of(
            Reason.DUPLICATE_ORDER_ID,
            f"Order {row.key}: the storefront record with entity id {entity} has the same order number as "
            f"entity id {first}, which trueup already holds under {row.key}.",
            field="increment_id",
        )
        own = f"{row.key}~entity-{entity}"
        out.append(replace(row, key=own, lock=f"{row.lock}~entity-{entity}", parked=problem))
    return out
