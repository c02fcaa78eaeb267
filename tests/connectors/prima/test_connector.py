"""The Prima connector against the Prima emulator over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from tests.contract.conftest import ITEMS
from tests.contract.test_erp_contract import credit_note, sales_order
from trueup.config import ErpConfig
from trueup.connectors.prima import PrimaErp, connect
from trueup.connectors.prima.tax import RoundingMode, TaxRounding, TaxRule, predict_tax, taxable_lines
from trueup.errors import ConfigError, Fatal, NotReady, RateLimited, Skippable, Unavailable
from trueup.model.exceptions import Reason
from trueup.model.orders import ErpAddress
from trueup.sandbox.faults import Faults
from trueup.sandbox.prima import PrimaSandbox

D = Decimal
Start = Callable[..., PrimaSandbox]


@pytest.fixture
def sandboxes() -> Iterator[Start]:
    started: list[PrimaSandbox] = []

    def start(**kwargs: Any) -> PrimaSandbox:
        sandbox = PrimaSandbox(**kwargs)
        sandbox.start()
        sandbox.load_items(ITEMS)
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@asynccontextmanager
async def prima(sandbox: PrimaSandbox, **options: Any) -> AsyncIterator[PrimaErp]:
    config = sandbox.erp_config()
    config["prima"] |= options
    async with aiohttp.ClientSession() as session:
        erp = await connect(session, ErpConfig.model_validate(config))
        try:
            yield erp
        finally:
            await erp.aclose()


async def test_without_a_company_id_it_speaks_to_wsomhandler(sandboxes: Start) -> None:
    sandbox = sandboxes(company_id="")
    async with prima(sandbox, company_id="") as erp:
        assert erp.client.url.endswith("/wsomhandler")
        assert await erp.post_sales_order(sales_order()) == "SO000001"


async def test_a_wrong_company_id_stops_the_flow(sandboxes: Start) -> None:
    async with prima(sandboxes(company_id="01"), company_id="02") as erp:
        assert erp.client.url.endswith("/comwsomhandler")
        with pytest.raises(Fatal, match="Company ID '02'"):
            await erp.find_sales_order("000000101")


async def test_the_lookup_keeps_one_order_when_prima_accepts_duplicate_web_refs(sandboxes: Start) -> None:
    sandbox = sandboxes(enforce_unique=False)
    async with prima(sandbox) as erp:
        refs = {await erp.post_sales_order(sales_order()) for _ in range(3)}
    assert len(refs) == 1 and sandbox.sales_order_counts() == {"000000101": 1}


async def test_without_the_lookup_an_unenforcing_prima_would_take_copies(sandboxes: Start) -> None:
    # Proves the emulator does not enforce uniqueness here, so the test above proves trueup's lookup.
    sandbox = sandboxes(enforce_unique=False)
    async with prima(sandbox, lookup_before_post=False) as erp:
        for _ in range(2):
            await erp.post_sales_order(sales_order())
    assert sandbox.sales_order_counts() == {"000000101": 2}


async def test_a_duplicate_answer_links_the_order_prima_already_has(sandboxes: Start) -> None:
    sandbox = sandboxes(enforce_unique=True)
    async with prima(sandbox, lookup_before_post=False) as erp:
        refs = [await erp.post_sales_order(sales_order()) for _ in range(2)]
    assert refs == ["SO000001", "SO000001"] and sandbox.sales_order_counts() == {"000000101": 1}


async def test_a_name_prima_cannot_hold_is_parked_and_nothing_is_posted(sandboxes: Start) -> None:
    sandbox = sandboxes()
    order = sales_order()
    ship_to = order.ship_to.model_copy(update={"name": "Ann 😀 Smith"})
    async with prima(sandbox) as erp:
        with pytest.raises(Skippable) as caught:
            await erp.post_sales_order(order.model_copy(update={"ship_to": ship_to}))
    assert caught.value.reason == Reason.UNREPRESENTABLE_TEXT
    assert caught.value.field == "DeliveryAddress.Name" and "U+1F600" in str(caught.value)
    assert sandbox.sales_order_counts() == {}


async def test_typographic_names_arrive_transliterated(sandboxes: Start) -> None:
    sandbox = sandboxes()
    order = sales_order().model_copy(update={"customer_name": "Łucja O’Brien–Zoë"})
    address = ErpAddress(
        name="Łucja O’Brien", lines=("“The Old Mill”",), city="Kraków", postcode="30-001", country="PL"
    )
    async with prima(sandbox) as erp:
        await erp.post_sales_order(order.model_copy(update={"ship_to": address}))
    stored = sandbox.state.orders["SO000001"].attrs
    assert stored["CustomerName"] == "Lucja O'Brien-Zoë"


async def test_erp_tax_mode_posts_when_the_prediction_agrees_and_prima_computes_the_same(
    sandboxes: Start,
) -> None:
    sandbox = sandboxes(tax_rounding="document", tax_rounding_mode="half_even")
    async with prima(sandbox, tax_mode="erp") as erp:
        number = await erp.post_sales_order(sales_order())
    order = sandbox.state.orders[number]
    assert order.tax_mode == "Calculate"
    rule = TaxRule(TaxRounding.DOCUMENT, RoundingMode.HALF_EVEN)
    assert order.tax_total == predict_tax(taxable_lines(sales_order(), D("20")), rule) == D("8.66")


async def test_erp_tax_mode_parks_a_variance_before_posting(sandboxes: Start) -> None:
    sandbox = sandboxes()
    async with prima(sandbox, tax_mode="erp") as erp:
        with pytest.raises(Skippable) as caught:
            await erp.post_sales_order(sales_order().model_copy(update={"tax_total": D("8.90")}))
    assert caught.value.reason == Reason.TAX_VARIANCE
    assert "8.66" in str(caught.value) and "8.90" in str(caught.value) and "-0.24" in str(caught.value)
    assert sandbox.sales_order_counts() == {}


async def test_stock_sellable_is_available_to_sell_not_available(sandboxes: Start) -> None:
    sandbox = sandboxes()
    sandbox.set_stock("TU0001-M-Navy", "WEB", on_hand=10, allocated=3, quarantined=2)
    async with prima(sandbox) as erp:
        [level] = [lv for snap in [s async for s in erp.stock()] for lv in snap.levels]
    # The emulator answers Available=8 (on hand - quarantined) and AvailableToSell=5.
    assert level.sellable == 5 and level.sellable != 8


async def test_request_type_names_are_configuration(sandboxes: Start) -> None:
    sandbox = sandboxes()
    sandbox.state.request_types["stock"] = "StockLevels"
    sandbox.set_stock("TU0002", "WEB", on_hand=4)
    async with prima(sandbox, request_types={"stock": "StockLevels"}) as erp:
        levels = [lv for snap in [s async for s in erp.stock()] for lv in snap.levels]
    assert [lv.sku for lv in levels] == ["TU0002"]
    async with prima(sandbox) as erp:
        with pytest.raises(Fatal, match="StockEnquiry"):
            [s async for s in erp.stock()]


async def test_pages_are_followed_to_the_end(sandboxes: Start) -> None:
    sandbox = sandboxes()
    async with prima(sandbox, page_size=1) as erp:
        pages = [page async for page in erp.items()]
        await erp.post_sales_order(sales_order())
        sandbox.despatch("000000101", carrier="RM", service="T48", tracking="A", lines=[("TU0002", 1)])
        sandbox.despatch("000000101", carrier="RM", service="T48", tracking="B")
        despatch_pages = [p async for p in erp.despatches_since(None)]
    assert len(pages) == len(ITEMS)
    found = [d.tracking_numbers for p in despatch_pages for d in p.despatches]
    assert found == [("A",), ("B",)]


async def test_partial_despatches_raise_invoices_that_add_up_to_the_order(sandboxes: Start) -> None:
    sandbox = sandboxes()
    async with prima(sandbox) as erp:
        await erp.post_sales_order(sales_order())
        sandbox.despatch("000000101", carrier="RM", service="T48", tracking="A", lines=[("TU0001-M-Navy", 1)])
        sandbox.despatch("000000101", carrier="RM", service="T48", tracking="B")
        entries = [
            e for page in [p async for p in erp.ledger(date(2000, 1, 1), date(2100, 1, 1))] for e in page
        ]
    assert len(entries) == 2 and sum(e.gross for e in entries) == D("51.95")


async def test_a_credit_note_for_an_order_prima_lacks_waits(sandboxes: Start) -> None:
    sandbox = sandboxes()
    async with prima(sandbox) as erp:
        with pytest.raises(NotReady):
            await erp.post_credit_note(credit_note())
    assert sandbox.credit_note_counts() == {}


async def test_http_faults_map_onto_the_retry_bands(sandboxes: Start) -> None:
    sandbox = sandboxes(faults=Faults(rate_limit_rate=1.0, retry_after=7))
    async with prima(sandbox) as erp:
        with pytest.raises(RateLimited) as limited:
            await erp.find_sales_order("000000101")
        assert limited.value.retry_after == 7
        sandbox.faults.update({"rate_limit_rate": 0.0, "error_rate": 1.0})
        with pytest.raises(Unavailable):
            await erp.post_sales_order(sales_order())
        sandbox.faults.update({"error_rate": 0.0, "error_after_commit_rate": 1.0})
        with pytest.raises(Unavailable):
            await erp.post_sales_order(sales_order())
        sandbox.faults.clear()
        # The post that was answered 502 did reach Prima: the retry links it, no second order.
        assert await erp.post_sales_order(sales_order()) == "SO000001"
    assert sandbox.sales_order_counts() == {"000000101": 1}


async def test_bad_options_name_the_key() -> None:
    async with aiohttp.ClientSession() as session:
        config = ErpConfig(kind="prima", base_url="https://x", prima={"tax_mode": "magento"})
        with pytest.raises(ConfigError, match=r"erp\.prima\.tax_mode"):
            await connect(session, config)
        with pytest.raises(ConfigError, match=r"erp\.base_url"):
            await connect(session, ErpConfig(kind="prima"))
