"""Rows that wait for something (their order, the flow being switched on), made due at once when it comes.

A row waits with `next_at` set to its next recheck; `wake` brings that forward to now, so a despatch or a
credit memo whose order has just been posted goes on in this pass, not at the recheck.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, literal, update

from trueup.model.exceptions import Reason
from trueup.model.work import Status
from trueup.store.schema import links, work

ORDER_LINK = "order"


def order_linked(storefront: str, lock_prefix: str) -> Any:
    """A clause: the order a row is locked on (`<lock_prefix><order id>`) is linked to the ERP."""
    return exists().where(
        links.c.kind == ORDER_LINK,
        links.c.storefront == storefront,
        work.c.lock == literal(lock_prefix) + links.c.external_id,
    )


def wake(conn: Connection, kind: str, reason: Reason, now: datetime, *where: Any) -> int:
    """Rows of `kind` waiting for `reason` (and matching `where`) become due now; how many did."""
    result = conn.execute(
        update(work)
        .where(
            work.c.kind == kind,
            work.c.status == Status.WAITING,
            work.c.reason == reason,
            work.c.next_at > now,
            *where,
        )
        .values(next_at=now)
    )
    return int(result.rowcount or 0)
