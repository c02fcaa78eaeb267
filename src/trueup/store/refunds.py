"""The refund flow's questions to the ledger and the links table, and the refund figures.

Credit memos are `refund.post` rows (payload: the memo as observed); a posted one has a `credit_note` link
(external_id = the memo id, erp_ref = the ERP credit note).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select

from trueup.model.exceptions import Reason
from trueup.model.work import Status
from trueup.security.crypto import open_payload
from trueup.store import Store
from trueup.store.awaiting import order_linked, wake
from trueup.store.schema import links, work

REFUND_KIND = "refund.post"
LOCK_PREFIX = "refund:"
CHECK_KIND = "check.refunds"
WAIT_REASONS = (Reason.REFUND_AWAITING_ORDER, Reason.REFUNDS_WATCHED)


def wake_waiting(store: Store, storefront: str, now: datetime, *, enabled: bool = True) -> int:
    """Refunds waiting for their order, whose order is linked now: due at once, not at the next recheck.
    With the flow on, refunds watched while it was off are due at once too."""
    with store.tx() as conn:
        linked = order_linked(storefront, LOCK_PREFIX)
        woken = wake(conn, REFUND_KIND, Reason.REFUND_AWAITING_ORDER, now, linked)
        if enabled:
            woken += wake(conn, REFUND_KIND, Reason.REFUNDS_WATCHED, now)
        return woken


def credit_note_counts(store: Store) -> dict[str, int]:
    """Credit memos by outcome: posted (a credit note), waiting, parked; and the units booked back."""
    with store.tx() as conn:
        rows = list(conn.execute(select(work.c.status, work.c.detail).where(work.c.kind == REFUND_KIND)))
    counts = {"posted": 0, "waiting": 0, "parked": 0, "restocked_units": 0}
    for status, detail in rows:
        if status == Status.DONE:
            counts["posted"] += 1
            text = str(detail or "")
            marker = "; restocked "
            if marker in text:
                counts["restocked_units"] += int(text.split(marker, 1)[1].split(" ", 1)[0])
        elif status == Status.PARKED:
            counts["parked"] += 1
        elif status == Status.WAITING:
            counts["waiting"] += 1
    return counts


def unposted_refunds(store: Store, seen_before: datetime) -> list[tuple[str, str, str]]:
    """Credit memos observed before `seen_before` that are still not a credit note and not an exception of
    their own (parked): (memo key, payload, status)."""
    open_ = [Status.TODO, Status.DOING, Status.RETRYING, Status.WAITING, Status.SENT]
    with store.tx() as conn:
        rows = conn.execute(
            select(work.c.key, work.c.payload, work.c.status).where(
                work.c.kind == REFUND_KIND, work.c.status.in_(open_), work.c.created_at < seen_before
            )
        )
        return [(str(k), open_payload(str(p), store.cipher), str(s)) for k, p, s in rows]


def posted_refunds(store: Store, storefront: str) -> list[tuple[str, str, str]]:
    """Credit memos posted as ERP credit notes: (memo key, payload, ERP credit note ref)."""
    with store.tx() as conn:
        rows = conn.execute(
            select(work.c.key, work.c.payload, links.c.erp_ref)
            .join(links, (links.c.kind == "credit_note") & (links.c.external_id == work.c.key))
            .where(work.c.kind == REFUND_KIND, work.c.status == Status.DONE, links.c.storefront == storefront)
        )
        return [(str(k), open_payload(str(p), store.cipher), str(r)) for k, p, r in rows]


def findings_by_kind(store: Store) -> dict[str, int]:
    """Open findings of the refund checks, by reason."""
    with store.tx() as conn:
        rows = conn.execute(
            select(work.c.reason, func.count())
            .where(work.c.kind == CHECK_KIND, work.c.status == Status.PARKED)
            .group_by(work.c.reason)
        )
        return {str(r): int(n) for r, n in rows}


def memo_total(payload: str) -> tuple[str, str, str]:
    data = json.loads(payload)
    return str(data.get("order_id")), str(data.get("grand_total")), str(data.get("currency") or "")
