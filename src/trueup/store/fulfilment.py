"""The fulfilment flow's questions to the ledger and the links table, and the fulfilment figures.

The true despatch time (R-FUL-4) is kept in each `despatch.ship` row's payload (the ERP's `despatched_at`)
and in its detail once done; `despatch_times` joins it to the shipment link for lead-time reporting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, exists, literal, select

from trueup.model.exceptions import Reason
from trueup.model.work import Status
from trueup.store import Store
from trueup.store.awaiting import ORDER_LINK, order_linked, wake
from trueup.store.schema import links, work

DESPATCH_KIND = "despatch.ship"
SHIPMENT_LINK = "shipment"
ORDER_KIND = "order.post"
LOCK_PREFIX = "despatch:"


def posted_orders(store: Store, storefront: str, order_ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(order_ids))
    found: dict[str, str] = {}
    with store.tx() as conn:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = conn.execute(
                select(links.c.external_id, links.c.erp_ref).where(
                    links.c.kind == ORDER_LINK,
                    links.c.storefront == storefront,
                    links.c.external_id.in_(chunk),
                )
            )
            found.update({str(k): str(v) for k, v in rows})
    return found


def linked_shipments(store: Store, storefront: str, shipment_ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(shipment_ids))
    if not wanted:
        return {}
    with store.tx() as conn:
        rows = conn.execute(
            select(links.c.erp_ref, links.c.external_id).where(
                links.c.kind == SHIPMENT_LINK, links.c.storefront == storefront, links.c.erp_ref.in_(wanted)
            )
        )
        return {str(ref): str(key) for ref, key in rows}


def wake_waiting(store: Store, storefront: str, now: datetime) -> int:
    """Despatches waiting for their order, whose order is linked now: due at once, not at the next recheck."""
    with store.tx() as conn:
        return wake(conn, DESPATCH_KIND, Reason.AWAITING_ORDER, now, order_linked(storefront, LOCK_PREFIX))


def shipment_counts(store: Store) -> dict[str, int]:
    """Despatches by outcome: created (a new shipment), linked_manual (a shipment made by hand), parked."""
    with store.tx() as conn:
        rows = list(conn.execute(select(work.c.status, work.c.detail).where(work.c.kind == DESPATCH_KIND)))
    counts = {"created": 0, "linked_manual": 0, "linked_own": 0, "parked": 0, "waiting": 0}
    for status, detail in rows:
        text = str(detail or "")
        if status == Status.DONE:
            if text.startswith("Linked manual"):
                counts["linked_manual"] += 1
            elif text.startswith("Linked"):
                counts["linked_own"] += 1
            else:
                counts["created"] += 1
        elif status == Status.PARKED:
            counts["parked"] += 1
        elif status == Status.WAITING:
            counts["waiting"] += 1
    return counts


def despatch_times(store: Store) -> list[dict[str, str]]:
    """Each shipped despatch with its storefront shipment and the ERP's own despatch time (lead times)."""
    with store.tx() as conn:
        rows = conn.execute(
            select(work.c.key, work.c.payload, links.c.erp_ref)
            .join(
                links,
                and_(links.c.kind == SHIPMENT_LINK, links.c.external_id == work.c.key),
            )
            .where(work.c.kind == DESPATCH_KIND, work.c.status == Status.DONE)
        )
        out = []
        for key, payload, shipment in rows:
            data = json.loads(payload)
            out.append(
                {
                    "despatch": str(key),
                    "order_id": str(data.get("order_id")),
                    "shipment": str(shipment),
                    "despatched_at": str(data.get("despatched_at")),
                }
            )
        return out


def stalled_orders(store: Store, storefront: str, linked_before: datetime) -> list[tuple[str, str]]:
    """Orders posted (linked) before `linked_before` with no despatch at all: (order id, order payload)."""
    despatched = exists().where(
        work.c.kind == DESPATCH_KIND, work.c.lock == literal(LOCK_PREFIX) + links.c.external_id
    )
    order_row = work.alias("order_row")
    with store.tx() as conn:
        rows = conn.execute(
            select(links.c.external_id, order_row.c.payload)
            .join(order_row, and_(order_row.c.kind == ORDER_KIND, order_row.c.key == links.c.external_id))
            .where(
                links.c.kind == ORDER_LINK,
                links.c.storefront == storefront,
                links.c.created_at < linked_before,
                ~despatched,
            )
        )
        return [(str(k), str(p)) for k, p in rows]


def unshipped_despatches(store: Store, seen_before: datetime) -> list[tuple[str, str, str]]:
    """Despatches observed before `seen_before` that are still not a shipment, and not already an exception
    of their own (parked): (despatch key, payload, status)."""
    open_ = [Status.TODO, Status.DOING, Status.RETRYING, Status.WAITING]
    with store.tx() as conn:
        rows = conn.execute(
            select(work.c.key, work.c.payload, work.c.status).where(
                work.c.kind == DESPATCH_KIND, work.c.status.in_(open_), work.c.created_at < seen_before
            )
        )
        return [(str(k), str(p), str(s)) for k, p, s in rows]


def findings_by_kind(store: Store) -> dict[str, int]:
    """Open findings of the fulfilment checks, by reason."""
    from sqlalchemy import func

    with store.tx() as conn:
        rows = conn.execute(
            select(work.c.reason, func.count())
            .where(work.c.kind == "check.fulfilment", work.c.status == Status.PARKED)
            .group_by(work.c.reason)
        )
        return {str(r): int(n) for r, n in rows}


def short_shipment_counts(store: Store) -> dict[str, int]:
    """Orders the ERP closed short: `short` (a `short_shipment` exception open for e-commerce) and
    `short_refunded` (refunded offline by trueup, `[flows.despatches] short_ship = "credit_memo"`)."""
    from sqlalchemy import func

    with store.tx() as conn:
        short = conn.execute(
            select(func.count()).where(
                work.c.kind == "input.rejected",
                work.c.status == Status.PARKED,
                work.c.reason == "short_shipment",
            )
        ).scalar_one()
        refunded = conn.execute(
            select(func.count()).where(
                work.c.kind == DESPATCH_KIND,
                work.c.status == Status.DONE,
                work.c.detail.contains("refunded offline, credit memo"),
            )
        ).scalar_one()
    return {"short": int(short), "short_refunded": int(refunded)}
