"""The Stokly connector against the emulator over real HTTP, beyond the shared contract suite: the location
it must be given, look-up-before-create when Stokly does not enforce uniqueness, stock across bins and pages,
idempotent stock adjustments in batches, partial despatches and other channels' shipments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from tests.connectors.stokly.conftest import Clock
from trueup.config import ErpConfig
from trueup.connectors.stokly import Options, StoklyErp, connect
from trueup.connectors.stokly.mapping import sale_order_body
from trueup.errors import ConfigError, NotReady, Rejected
from trueup.model.erp import CreditNote, CreditNoteLine, StockAdjustment
from trueup.model.orders import ErpAddress, ErpOrderLine, ErpSalesOrder
from trueup.rules.stock import sellable_qty
from trueup.sandbox.stokly import StoklySandbox

D = Decimal
NOW = datetime(2026, 11, 27, 9, 0)


def order(external_id: str = "100001", item_id: str = "IT-1", qty: int = 2) -> ErpSalesOrder:
    address = ErpAddress(
        name="Ann Smith", lines=("Flat 2", "10 High Street"), city="Leeds", postcode="LS1 4AP", country="GB"
    )
    net = D(15) * qty
    return ErpSalesOrder(
        external_id=external_id,
        order_date=NOW,
        currency="GBP",
        customer_email="ann@example.co.uk",
        customer_name="Ann Smith",
        bill_to=address,
        ship_to=address,
        carrier="RM",
        service="TRACKED48",
        lines=(
            ErpOrderLine(
                line_no=1,
                sku="TEE-M",
                erp_item_id=item_id,
                description="Tee M",
                qty=D(qty),
                unit_price=D("15.00"),
                net=net,
                discount=D(0),
                tax=net / 5,
                tax_rate=D(20),
                gross=net * D("1.2"),
                storefront_line_id="1",
            ),
            ErpOrderLine(
                line_no=2,
                sku="MUG",
                erp_item_id="IT-2",
                description="Mug",
                qty=D(1),
                unit_price=D("10.00"),
                net=D("10.00"),
                discount=D(0),
                tax=D("2.00"),
                tax_rate=D(20),
                gross=D("12.00"),
                storefront_line_id="2",
            ),
        ),
        shipping_net=D("3.29"),
        shipping_tax=D("0.66"),
        discount_total=D(0),
        tax_total=D("8.66"),
        grand_total=D("51.95"),
        payment_method="stripe",
    )


async def erp_for(
    http: aiohttp.ClientSession, sandbox: StoklySandbox, monkeypatch: pytest.MonkeyPatch, **options: Any
) -> StoklyErp:
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    config = sandbox.erp_config()
    config["stokly"] = {**config["stokly"], **options}
    return await connect(http, ErpConfig.model_validate(config))


@pytest.fixture
async def erp(
    http: aiohttp.ClientSession, sandbox: StoklySandbox, monkeypatch: pytest.MonkeyPatch
) -> StoklyErp:
    return await erp_for(http, sandbox, monkeypatch)


@pytest.mark.parametrize("location", [None, "", "  "])
async def test_without_a_location_connect_stops_naming_the_key(
    http: aiohttp.ClientSession, sandbox: StoklySandbox, monkeypatch: pytest.MonkeyPatch, location: str | None
) -> None:
    config = sandbox.erp_config()
    config["stokly"].pop("location_id")
    if location is not None:
        config["stokly"]["location_id"] = location
    monkeypatch.setenv(sandbox.secret_env, sandbox.state.secret)
    with pytest.raises(ConfigError) as caught:
        await connect(http, ErpConfig.model_validate(config))
    assert caught.value.key == "erp.stokly.location_id"
    assert "Allocate Sold" in str(caught.value)


async def test_a_bad_option_is_a_config_error_naming_it(
    http: aiohttp.ClientSession, sandbox: StoklySandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError) as caught:
        await erp_for(http, sandbox, monkeypatch, page_size=5000)
    assert caught.value.key == "erp.stokly.page_size"


async def test_stokly_refuses_a_sale_order_that_names_no_location(erp: StoklyErp) -> None:
    body = sale_order_body(order(), location_id="", source_type="trueup", source_id="magento")
    resp = await erp.http.request("POST", "/v2/saleorders", body=body)
    assert resp.status == 422 and resp.body["field"] == "locationId"


async def test_the_order_deducts_from_the_configured_location(erp: StoklyErp, sandbox: StoklySandbox) -> None:
    ref = await erp.post_sales_order(order())
    assert sandbox.state.sale_orders[ref]["locationId"] == sandbox.location_id


@pytest.mark.parametrize("sandbox_options", [{"enforce_unique": False}])
async def test_without_unique_enforcement_the_lookup_still_prevents_a_duplicate(
    erp: StoklyErp, sandbox: StoklySandbox
) -> None:
    refs = {await erp.post_sales_order(order()) for _ in range(3)}
    assert len(refs) == 1 and sandbox.sales_order_counts() == {"100001": 1}
    body = sale_order_body(order(), location_id=sandbox.location_id, source_type="t", source_id="m")
    resp = await erp.http.request("POST", "/v2/saleorders", body=body)
    assert resp.status == 201 and sandbox.sales_order_counts() == {"100001": 2}  # Stokly itself lets it in


async def test_with_unique_enforcement_stokly_answers_409_to_a_second_create(
    erp: StoklyErp, sandbox: StoklySandbox
) -> None:
    await erp.post_sales_order(order())
    body = sale_order_body(order(), location_id=sandbox.location_id, source_type="t", source_id="m")
    resp = await erp.http.request("POST", "/v2/saleorders", body=body)
    assert resp.status == 409 and sandbox.sales_order_counts() == {"100001": 1}


async def test_a_discontinued_item_is_rejected_naming_the_line(erp: StoklyErp) -> None:
    with pytest.raises(Rejected) as caught:
        await erp.post_sales_order(order(item_id="IT-3"))
    assert caught.value.field == "items[0].referenceId" and "discontinued" in str(caught.value)


async def test_open_orders_count_as_allocated_until_collected(erp: StoklyErp, sandbox: StoklySandbox) -> None:
    sandbox.set_stock("TEE-M", "WEB", on_hand=10, quarantined=1)
    await erp.post_sales_order(order(qty=3))
    levels = {lv.sku: lv for snap in [s async for s in erp.stock()] for lv in snap.levels}
    assert (levels["TEE-M"].on_hand, levels["TEE-M"].allocated, sellable_qty(levels["TEE-M"])) == (10, 3, 6)
    sandbox.despatch("100001", carrier="RM", service="TRACKED48", tracking="RM1")
    levels = {lv.sku: lv for snap in [s async for s in erp.stock()] for lv in snap.levels}
    assert (levels["TEE-M"].on_hand, levels["TEE-M"].allocated, sellable_qty(levels["TEE-M"])) == (7, 0, 6)


async def test_bins_are_summed_per_location_even_across_pages(
    http: aiohttp.ClientSession, sandbox: StoklySandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.set_stock("TEE-M", "WEB", on_hand=4)
    sandbox.set_stock("MUG", "WEB", on_hand=1)
    sandbox.state.record("IT-1", sandbox.location_id, "A-01-03")["onHand"] = 6
    sandbox.set_stock("TEE-M", "SHOP", on_hand=2)
    erp = await erp_for(http, sandbox, monkeypatch, page_size=1)
    snapshots = [s async for s in erp.stock()]
    levels = [(lv.sku, lv.location, lv.on_hand) for s in snapshots for lv in s.levels]
    shop = sandbox.state.location("SHOP")
    assert sorted(levels) == sorted(
        [("TEE-M", sandbox.location_id, 10), ("TEE-M", shop, 2), ("MUG", sandbox.location_id, 1)]
    )
    only_bin = await erp_for(http, sandbox, monkeypatch, stock_bin="UNASSIGNED", stock_location_ids=[shop])
    assert [(lv.sku, lv.on_hand) for s in [s async for s in only_bin.stock()] for lv in s.levels] == [
        ("TEE-M", 2)
    ]


async def test_stock_adjustments_go_in_batches_and_a_retry_books_nothing_twice(
    http: aiohttp.ClientSession, sandbox: StoklySandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    erp = await erp_for(http, sandbox, monkeypatch, adjustment_batch=2)
    sandbox.set_stock("TEE-M", "WEB", on_hand=1)
    restock = [
        StockAdjustment(
            sku=sku, erp_item_id=item, location="", delta=n, reason="return {restock}", reference="CM-9"
        )
        for sku, item, n in [("TEE-M", "IT-1", 2), ("MUG", "IT-2", 1), ("OLD", "IT-3", 1)]
    ]
    await erp.adjust_stock(restock)
    await erp.adjust_stock(restock)
    await erp.adjust_stock(restock[:2])  # a retry of the first batch alone
    assert [len(a["items"]) for a in sandbox.state.adjustments] == [2, 1]
    assert [a["reason"] for a in sandbox.state.adjustments] == [
        "return (restock) [trueup:CM-9#1]",
        "return (restock) [trueup:CM-9#2]",
    ]
    assert sandbox.state.record("IT-1", sandbox.location_id)["onHand"] == 3


async def test_partial_despatches_come_back_one_by_one_after_their_cursor(
    erp: StoklyErp, sandbox: StoklySandbox, clock: Clock
) -> None:
    await erp.post_sales_order(order())
    first = sandbox.despatch(
        "100001", carrier="RM", service="TRACKED48", tracking="RM1", lines=[("TEE-M", 1)]
    )
    [page] = [p async for p in erp.despatches_since(None)]
    assert [(d.despatch_id, d.carrier, [(ln.sku, ln.qty) for ln in d.lines]) for d in page.despatches] == [
        (first, "RM", [("TEE-M", 1)])
    ]
    assert page.despatches[0].despatched_at == datetime(2026, 11, 27, 9, 0)
    clock.advance(minutes=5)
    second = sandbox.despatch("100001", carrier="DPD", service="NEXTDAY", tracking="DPD2")
    [later] = [p async for p in erp.despatches_since(page.cursor)]
    assert [
        (d.despatch_id, d.tracking_numbers, [(ln.sku, ln.qty) for ln in d.lines]) for d in later.despatches
    ] == [(second, ("DPD2",), [("TEE-M", 1), ("MUG", 1)])]
    assert [p async for p in erp.despatches_since(later.cursor)] == []


async def test_another_channels_shipments_are_passed_over_but_move_the_cursor(
    erp: StoklyErp, sandbox: StoklySandbox
) -> None:
    body = sale_order_body(
        order("POS-1"), location_id=sandbox.location_id, source_type="pos", source_id="till"
    )
    assert (await erp.http.request("POST", "/v2/saleorders", body=body)).status == 201
    sandbox.despatch("POS-1", carrier="RM", service="", tracking="RM9")
    pages = [p async for p in erp.despatches_since(None)]
    assert [d for p in pages for d in p.despatches] == [] and pages[-1].cursor
    assert [p async for p in erp.despatches_since(pages[-1].cursor)] == []


async def test_a_refund_for_an_order_not_yet_in_stokly_waits(erp: StoklyErp) -> None:
    note = CreditNote(
        external_id="CM-1",
        order_id="NOT-POSTED",
        created_at=NOW,
        currency="GBP",
        lines=(
            CreditNoteLine(
                sku="MUG", erp_item_id="IT-2", qty=1, net=D(10), tax=D(2), tax_rate=D(20), gross=D(12)
            ),
        ),
        total=D(12),
    )
    with pytest.raises(NotReady):
        await erp.post_credit_note(note)


def test_the_options_defaults_follow_stokly_limits() -> None:
    options = Options(account_key="a", client_id="c", location_id="l")
    assert (options.page_size, options.adjustment_batch, options.bin_id) == (1000, 500, "UNASSIGNED")
