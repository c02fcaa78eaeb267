"""Shadow mode's I/O: read the storefront's orders for a period, plan each as the order flow would (pure
`plan_order`, nothing applied, nothing written), read what the ERP holds under each order's id (what the
incumbent integration posted), and compare (`checks/shadow.py`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from trueup.checks.shadow import ShadowReport, compare
from trueup.flows.orders import OrderRules, Post, erp_sku, plan_order
from trueup.model.orders import Order
from trueup.model.shadow import PostedOrder, posted_view
from trueup.ports import ItemMap, OrderSource, PostedOrders
from trueup.rules.lines import booked_lines


def _why(plan: object) -> str:
    problem = getattr(plan, "problem", None) or next(iter(getattr(plan, "problems", ())), None)
    name = type(plan).__name__.lower()
    return f"{name} ({problem.reason})" if problem is not None else name


async def shadow(
    source: OrderSource,
    items: ItemMap,
    rules: OrderRules,
    erp: PostedOrders,
    since: datetime,
    until: datetime,
    now: datetime,
    *,
    concurrency: int = 8,
) -> ShadowReport:
    """Orders placed from `since` to `until`, read from every order updated since `since` up to `now` (an
    order placed in the period may have been updated after it)."""
    orders: dict[str, Order] = {}
    async for page in source.orders_updated(since, max(until, now)):
        for observed in page.orders:
            o = observed.order
            if o is None:
                continue  # unreadable: the order flow's exception already
            placed = o.created_at if o.created_at.tzinfo else o.created_at.replace(tzinfo=UTC)
            if since <= placed <= until:
                orders[o.order_id] = o  # the newest read of an order stands
    booked = {key: booked_lines(o) for key, o in orders.items()}
    found = await items.items_for({erp_sku(line.sku, rules) for lines in booked.values() for line in lines})
    planned: dict[str, PostedOrder | None] = {}
    why: dict[str, str] = {}
    for key, order in orders.items():
        plan = plan_order(order, found, rules, booked[key])
        planned[key] = posted_view(plan.order) if isinstance(plan, Post) else None
        if not isinstance(plan, Post):
            why[key] = _why(plan)
    gate = asyncio.Semaphore(concurrency)

    async def read(key: str) -> tuple[str, PostedOrder | None]:
        async with gate:
            return key, await erp.posted_order(key)

    posted = dict(await asyncio.gather(*(read(k) for k in sorted(orders))))
    return ShadowReport(
        since=since.isoformat(),
        until=until.isoformat(),
        orders=len(orders),
        would_post=sum(v is not None for v in planned.values()),
        incumbent_posted=sum(v is not None for v in posted.values()),
        differences=tuple(compare(planned, posted, why)),
    )
