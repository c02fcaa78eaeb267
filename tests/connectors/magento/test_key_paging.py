"""One pass reads every order while the store keeps changing: orders already read are updated and new orders
arrive between page requests (the sandbox's `OrderChurn`), over real HTTP.

The first test shows why this matters: offset paging over `updated_at`, as trueup did before, skips orders
under the same churn. The others hold key paging to the rule: every order that was in the window when the
pass started is read at least once, for any page size, update rate and arrival rate.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trueup.connectors.magento.client import MagentoClient
from trueup.sandbox.magento import MagentoState, create_app
from trueup.sandbox.magento_churn import TIME, OrderChurn
from trueup.sandbox.serve import ServerThread

TOKEN = "magento-test-token"
DAY = datetime(2026, 11, 23, 8)
UNTIL = datetime(2026, 11, 23, 20)  # the moment the pass started


def orders(n: int, seconds: int, rng: random.Random) -> list[dict[str, Any]]:
    """`n` orders updated within `seconds` distinct seconds: few seconds means many ties on updated_at."""
    out = []
    for entity_id in range(1, n + 1):
        at = (DAY + timedelta(seconds=rng.randrange(seconds))).strftime(TIME)
        out.append(
            {
                "entity_id": entity_id,
                "increment_id": f"{entity_id:09d}",
                "status": "processing",
                "created_at": at,
                "updated_at": at,
            }
        )
    return out


def in_window(state: MagentoState) -> set[str]:
    until = UNTIL.strftime(TIME)
    return {o["increment_id"] for o in state if o["updated_at"] <= until}


async def key_pass(url: str, page_size: int) -> list[str]:
    async with aiohttp.ClientSession() as http:
        client = MagentoClient(http, url, TOKEN)
        return [o["increment_id"] async for page in client.order_pages(DAY, UNTIL, page_size) for o in page]


async def offset_pass(url: str, page_size: int) -> list[str]:
    """What trueup did before: currentPage over the window sorted by updated_at, until total_count."""
    seen: list[str] = []
    window = {
        "searchCriteria[filter_groups][0][filters][0][field]": "updated_at",
        "searchCriteria[filter_groups][0][filters][0][value]": DAY.strftime(TIME),
        "searchCriteria[filter_groups][0][filters][0][condition_type]": "gteq",
        "searchCriteria[filter_groups][1][filters][0][field]": "updated_at",
        "searchCriteria[filter_groups][1][filters][0][value]": UNTIL.strftime(TIME),
        "searchCriteria[filter_groups][1][filters][0][condition_type]": "lteq",
        "searchCriteria[sortOrders][0][field]": "updated_at",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[sortOrders][1][field]": "entity_id",
        "searchCriteria[sortOrders][1][direction]": "ASC",
        "searchCriteria[pageSize]": str(page_size),
    }
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        page = 1
        while True:
            params = {**window, "searchCriteria[currentPage]": str(page)}
            async with http.get(url + "/V1/orders", params=params) as resp:
                body = await resp.json()
            seen += [o["increment_id"] for o in body["items"]]
            if page * page_size >= body["total_count"]:
                return seen
            page += 1


def serve(state: MagentoState) -> ServerThread:
    server = ServerThread(create_app(state, token=TOKEN))
    server.start()
    return server


def after_the_pass_started(*, same_second: int = 0) -> Any:
    """Magento's clock during the pass, one tick a request: the first `same_second` changes land in the very
    second the pass started (inside its window), the rest one second apart after it."""
    ticks = iter(range(10**9))
    return lambda: (UNTIL + timedelta(seconds=max(0, next(ticks) - same_second))).strftime(TIME)


def test_offset_paging_skips_orders_that_key_paging_reads() -> None:
    """The issue's own numbers: 2,000 orders, 100 a page, 3 already-read orders touched before each page."""
    for pager, misses_some in ((offset_pass, True), (key_pass, False)):
        state = MagentoState(orders(2000, 36_000, random.Random(1)))
        expected = in_window(state)
        churn = OrderChurn(touches=3, seed=1, clock=after_the_pass_started())
        state.observers.append(churn)
        with serve(state) as server:
            seen = asyncio.run(pager(server.url + "/rest", 100))
        missed = expected - set(seen)
        assert bool(missed) == misses_some, (pager.__name__, len(missed))
        if pager is key_pass:
            assert len(seen) == len(set(seen)) == 2000  # each read exactly once in this pass
            assert churn.touched  # the store really did change under the pass


def test_orders_touched_in_the_same_second_as_the_pass_start_are_still_read() -> None:
    """`updated_at` has one-second resolution: a change in the very second the pass started keeps the order
    inside the window, at a new place. It is read again, never lost."""
    state = MagentoState(orders(300, 5, random.Random(2)))
    expected = in_window(state)
    churn = OrderChurn(touches=4, arrivals=2, seed=2, clock=after_the_pass_started(same_second=10))
    state.observers.append(churn)
    with serve(state) as server:
        seen = asyncio.run(key_pass(server.url + "/rest", 7))
    assert expected <= set(seen)
    assert churn.touched and churn.arrived


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(0, 400),
    seconds=st.integers(1, 50),
    page_size=st.integers(1, 60),
    touches=st.integers(0, 8),
    arrivals=st.integers(0, 4),
    same_second=st.integers(0, 10),
    seed=st.integers(0, 2**16),
)
def test_one_pass_reads_every_order_in_the_window_whatever_the_churn(
    n: int, seconds: int, page_size: int, touches: int, arrivals: int, same_second: int, seed: int
) -> None:
    state = MagentoState(orders(n, seconds, random.Random(seed)))
    expected = in_window(state)
    clock = after_the_pass_started(same_second=same_second)
    template = lambda rng: {"status": "pending"}  # noqa: E731 - the churn fills in ids and times
    churn = OrderChurn(touches=touches, arrivals=arrivals, seed=seed, clock=clock, template=template)
    state.observers.append(churn)
    with serve(state) as server:
        seen = asyncio.run(key_pass(server.url + "/rest", page_size))
    assert expected <= set(seen)
