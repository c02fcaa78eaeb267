"""The stock and price flows' tables: `pushed_stock` and `pushed_prices` (the last confirmed push) and
`stock_drift` (drift seen).

`record_pushed` runs inside the ledger's record transaction: a batch's rows reach `pushed_stock` in the
same commit that marks its ledger row done, so a crash between push and record leaves the row `doing`,
it is swept back and pushed again (absolute quantities: a re-push is harmless), and `pushed_stock` never
claims a push the ledger does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, tuple_

from trueup.model.prices import PRICE_KIND, price_rows
from trueup.model.stock import PUSH_KIND, batch_rows
from trueup.model.work import ACTIVE, Done, Outcome
from trueup.store.ledger import _insert
from trueup.store.schema import pushed_prices, pushed_stock, stock_drift, work

_CHUNK = 5000  # rows per executemany: bounded memory on a full push of 1M rows


def record_pushed(conn: Connection, outcomes: Iterable[Outcome], now: datetime) -> int:
    from trueup.store.catalog import record_items  # the catalogue flow's products, in the same commit

    outcomes = list(outcomes)
    return (
        _record_stock(conn, outcomes, now)
        + _record_prices(conn, outcomes, now)
        + record_items(conn, outcomes, now)
    )


def _record_prices(conn: Connection, outcomes: list[Outcome], now: datetime) -> int:
    values = [
        {
            "sku": r.sku,
            "kind": r.kind,
            "customer_group": r.customer_group,
            "min_qty": r.min_qty,
            "price": r.price,
            "batch": o.job.key,
            "pushed_at": now,
        }
        for o in outcomes
        if isinstance(o, Done) and o.job.kind == PRICE_KIND
        for r in price_rows(o.job.payload)
    ]
    if not values:
        return 0
    stmt = _insert(conn, pushed_prices)
    stmt = stmt.on_conflict_do_update(
        index_elements=[
            pushed_prices.c.sku,
            pushed_prices.c.kind,
            pushed_prices.c.customer_group,
            pushed_prices.c.min_qty,
        ],
        set_={
            "price": stmt.excluded.price,
            "batch": stmt.excluded.batch,
            "pushed_at": stmt.excluded.pushed_at,
        },
    )
    for start in range(0, len(values), _CHUNK):
        conn.execute(stmt, values[start : start + _CHUNK])
    return len(values)


def pushed_price_rows(conn: Connection) -> list[tuple[str, str, str, int, str]]:
    c = pushed_prices.c
    query = select(c.sku, c.kind, c.customer_group, c.min_qty, c.price)
    return [(str(s), str(k), str(g), int(q), str(p)) for s, k, g, q, p in conn.execute(query)]


def _record_stock(conn: Connection, outcomes: list[Outcome], now: datetime) -> int:
    values: list[dict[str, Any]] = []
    for o in outcomes:
        if isinstance(o, Done) and o.job.kind == PUSH_KIND:
            values += [
                {
                    "sku": r.sku,
                    "source_code": r.source_code,
                    "qty": r.quantity,
                    "batch": o.job.key,
                    "pushed_at": now,
                }
                for r in batch_rows(o.job.payload)
            ]
    if not values:
        return 0
    stmt = _insert(conn, pushed_stock)
    stmt = stmt.on_conflict_do_update(
        index_elements=[pushed_stock.c.sku, pushed_stock.c.source_code],
        set_={"qty": stmt.excluded.qty, "batch": stmt.excluded.batch, "pushed_at": stmt.excluded.pushed_at},
    )
    for start in range(0, len(values), _CHUNK):
        conn.execute(stmt, values[start : start + _CHUNK])
    return len(values)


def pushed_rows(conn: Connection) -> list[tuple[str, str, int]]:
    query = select(pushed_stock.c.sku, pushed_stock.c.source_code, pushed_stock.c.qty)
    return [(str(s), str(c), int(q)) for s, c, q in conn.execute(query)]


def in_flight_rows(conn: Connection) -> list[tuple[str, str, int]]:
    """Rows of stock batches not yet confirmed (to do, being pushed, retrying, or parked)."""
    query = select(work.c.payload).where(work.c.kind == PUSH_KIND, work.c.status.in_([*ACTIVE, "parked"]))
    return [
        (r.sku, r.source_code, r.quantity) for (payload,) in conn.execute(query) for r in batch_rows(payload)
    ]


def note_drift(
    conn: Connection, findings: Sequence[tuple[str, str, int, int]], now: datetime
) -> dict[tuple[str, str], datetime]:
    """Remember each drift's first sighting; forget drifts no longer seen. Returns first_seen per pair."""
    seen = {(s, c): (e, a) for s, c, e, a in findings}
    known = {
        (str(s), str(c)): first
        for s, c, first in conn.execute(
            select(stock_drift.c.sku, stock_drift.c.source_code, stock_drift.c.first_seen)
        )
    }
    gone = [pair for pair in known if pair not in seen]
    for start in range(0, len(gone), _CHUNK):
        chunk = gone[start : start + _CHUNK]
        conn.execute(
            delete(stock_drift).where(tuple_(stock_drift.c.sku, stock_drift.c.source_code).in_(chunk))
        )
    new = [
        {"sku": s, "source_code": c, "expected": e, "actual": a, "first_seen": now}
        for (s, c), (e, a) in seen.items()
        if (s, c) not in known
    ]
    if new:
        conn.execute(stock_drift.insert(), new)
    return {pair: known.get(pair, now) for pair in seen}


def prices_in_flight(conn: Connection) -> list[tuple[str, str, str, int]]:
    """Keys of price batches not yet confirmed."""
    query = select(work.c.payload).where(work.c.kind == PRICE_KIND, work.c.status.in_([*ACTIVE, "parked"]))
    return [r.key for (payload,) in conn.execute(query) for r in price_rows(payload)]
