"""The dashboard's flow health over time: a snapshot of every flow's backlog, lag and open exceptions,
written by `trueup run` every SNAPSHOT_SECONDS (a periodic task on the engine's database thread), kept
KEEP, and read back as the overview's charts. Lag and backlog are states, not events: the ledger keeps
no past states, so they are recorded as they are, never reconstructed from timestamps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select

from trueup.ports import Clock
from trueup.store import Store
from trueup.store.schema import flow_snapshots
from trueup.web.insight import flow_health

SNAPSHOT_SECONDS = 300.0
KEEP = timedelta(days=14)

Series = dict[str, list[tuple[datetime, int]]]


def take(conn: Connection, now: datetime) -> int:
    """Write one snapshot of every flow (the flow health the overview shows now); drop those past KEEP."""
    rows = [
        {
            "at": now,
            "flow": str(f["flow"])[:64],
            "lane": str(f["lane"] or "")[:64],
            "backlog": int(f["backlog"]),
            "lag_seconds": int(f["lag_seconds"]),
            "open_exceptions": int(f["open_exceptions"]),
        }
        for f in flow_health(conn, now)
    ]
    if rows:
        conn.execute(insert(flow_snapshots), rows)
    conn.execute(delete(flow_snapshots).where(flow_snapshots.c.at < now - KEEP))
    return len(rows)


def series(conn: Connection, since: datetime) -> tuple[Series, Series]:
    """(backlog, lag in seconds) per flow since `since`, oldest first. A flow's lanes are summed (backlog)
    or their worst taken (lag)."""
    backlog: dict[str, dict[datetime, int]] = {}
    lag: dict[str, dict[datetime, int]] = {}
    rows = conn.execute(
        select(
            flow_snapshots.c.at, flow_snapshots.c.flow, flow_snapshots.c.backlog, flow_snapshots.c.lag_seconds
        )
        .where(flow_snapshots.c.at >= since)
        .order_by(flow_snapshots.c.at, flow_snapshots.c.id)
    )
    for at, flow, n, seconds in rows:
        b = backlog.setdefault(flow, {})
        b[at] = b.get(at, 0) + n
        g = lag.setdefault(flow, {})
        g[at] = max(g.get(at, 0), seconds)
    return (
        {flow: sorted(points.items()) for flow, points in backlog.items()},
        {flow: sorted(points.items()) for flow, points in lag.items()},
    )


class SnapshotTask:
    """`trueup run`'s periodic snapshot of flow health, on the engine's database thread."""

    name = "flow snapshots"

    def __init__(
        self, store: Store, clock: Clock, call: Callable[[Callable[[], int]], Awaitable[int]]
    ) -> None:
        self.store, self.clock, self.call = store, clock, call

    def _take(self) -> int:
        with self.store.tx() as conn:
            return take(conn, self.clock.now())

    async def sync(self) -> int:
        return await self.call(self._take)
