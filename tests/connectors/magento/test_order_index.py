"""The orphan sweep's cheap listing over real HTTP: key pages by entity_id with Magento's `fields` filter.

Every order in the window is listed exactly once per pass however the store changes under it, and a
header's payment state is the one the order flow derives from the full order.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.connectors.magento.test_key_paging import DAY, TOKEN, after_the_pass_started, orders, serve
from trueup.connectors.magento.client import MagentoClient
from trueup.connectors.magento.index import MagentoOrderIndex, index_after
from trueup.connectors.magento.mapping import to_order
from trueup.ports import OrderHeader, SourceOrder
from trueup.sandbox.magento import MagentoState
from trueup.sandbox.magento_churn import OrderChurn
from trueup.sandbox.scenario import FaultMix, generate


async def index_pass(url: str, page_size: int, since: datetime = DAY) -> list[list[OrderHeader]]:
    async with aiohttp.ClientSession() as http:
        index = MagentoOrderIndex(MagentoClient(http, url, TOKEN), page_size=page_size)
        return [list(page) async for page in index.order_index(since)]


async def fetch(url: str, entity_ids: list[int]) -> list[SourceOrder | None]:
    async with aiohttp.ClientSession() as http:
        index = MagentoOrderIndex(MagentoClient(http, url, TOKEN))
        return [await index.fetch_order(i) for i in entity_ids]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(0, 300),
    page_size=st.integers(1, 50),
    touches=st.integers(0, 8),
    arrivals=st.integers(0, 4),
    seed=st.integers(0, 2**16),
)
def test_one_pass_lists_every_order_once_in_entity_order_whatever_the_churn(
    n: int, page_size: int, touches: int, arrivals: int, seed: int
) -> None:
    state = MagentoState(orders(n, 3600, random.Random(seed)))
    expected = {o["increment_id"] for o in state}
    template = lambda rng: {"status": "pending"}  # noqa: E731 - the churn fills in ids and times
    churn = OrderChurn(
        touches=touches, arrivals=arrivals, seed=seed, clock=after_the_pass_started(), template=template
    )
    state.observers.append(churn)
    with serve(state) as server:
        pages = asyncio.run(index_pass(server.url + "/rest", page_size))
    ids = [h.entity_id for page in pages for h in page]
    assert ids == sorted(set(ids))  # in key order, none twice: an update cannot move an entity id
    assert expected <= {h.key for page in pages for h in page}
    assert all(len(page) <= page_size for page in pages)


def test_headers_carry_the_order_flows_payment_state_and_the_money_at_risk() -> None:
    start = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(hours=3)
    scenario = generate(
        5, 80, start=start, end=start + timedelta(hours=2), faults=FaultMix(malformed=0, pending_payment=0.3)
    )
    state = MagentoState(scenario.orders)
    full = {o["increment_id"]: o for o in state}
    with serve(state) as server:
        pages = asyncio.run(index_pass(server.url + "/rest", 25, since=start - timedelta(days=1)))
        fetched = asyncio.run(fetch(server.url + "/rest", [1, 10**6]))
    headers = [h for page in pages for h in page]
    assert len(headers) == 80
    for h in headers:
        order = to_order(full[h.key], "magento")
        assert h.payment == order.payment.state
        assert (h.grand_total, h.currency, h.version) == (
            order.grand_total,
            order.currency,
            full[h.key]["updated_at"],
        )
    assert {h.payment for h in headers} >= {"captured", "pending"}
    first, missing = fetched
    assert first is not None and first.order is not None and first.order.storefront_entity_id == "1"
    assert missing is None  # a 404: the storefront no longer has it


def test_the_listing_asks_only_for_the_header_fields() -> None:
    start = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(hours=1)
    state = MagentoState(generate(6, 5, start=start, end=start + timedelta(minutes=30)).orders)

    async def one_page(url: str) -> Any:
        params = index_after(start - timedelta(days=1), 0, 10**6, 3)
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
            http.get(url + "/V1/orders", params=params) as resp,
        ):
            return await resp.json()

    with serve(state) as server:
        body = asyncio.run(one_page(server.url + "/rest"))
    wanted = {"entity_id", "increment_id", "state", "status", "created_at", "updated_at", "grand_total"}
    wanted |= {"order_currency_code", "total_paid", "payment"}
    assert set(body) == {"items"} and [o["entity_id"] for o in body["items"]] == [1, 2, 3]
    assert all(set(o) <= wanted and set(o.get("payment", {})) <= {"amount_paid"} for o in body["items"])


def test_an_order_too_broken_to_list_is_left_to_observation_and_the_rest_are_listed() -> None:
    rows = orders(5, 10, random.Random(0))
    for row in rows:
        row.update(state="processing", grand_total=Decimal("10.00"), total_paid=Decimal("10.00"))
    del rows[2]["grand_total"]  # observation parks this one as malformed_record
    state = MagentoState(rows)
    with serve(state) as server:
        pages = asyncio.run(index_pass(server.url + "/rest", 2))
    assert [h.entity_id for page in pages for h in page] == [1, 2, 4, 5]
