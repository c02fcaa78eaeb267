"""The reconciliation's findings in the exception queue: their statuses, for the planner and the close."""

from __future__ import annotations

from sqlalchemy import Connection, select

from trueup.model.checks import finding_kind
from trueup.model.exceptions import Reason
from trueup.model.work import Status
from trueup.store.checks import CLEARED
from trueup.store.schema import work


def finding_statuses(conn: Connection, reasons: tuple[Reason, ...]) -> dict[tuple[str, str], str]:
    """(reason, order id) → status of every finding of these reasons ("cleared": the engine cleared it)."""
    by_kind = {finding_kind(r): str(r) for r in reasons}
    rows = conn.execute(
        select(work.c.kind, work.c.key, work.c.status, work.c.result).where(work.c.kind.in_(list(by_kind)))
    )
    return {
        (by_kind[kind], key): CLEARED if status == Status.RESOLVED and result == CLEARED else str(status)
        for kind, key, status, result in rows
    }
