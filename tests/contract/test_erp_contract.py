"""Every ERP connector, against its own sandbox, behaves the same way where trueup relies on it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.contract.conftest import ITEMS, Case
from trueup.flows.orders import OrderFlow, OrderRules
from trueup.model.erp import CreditNote, CreditNoteLine, LedgerKind
from trueup.model.exceptions import Reason
from trueup.model.items import ErpItem
from trueup.model.orders import (
    Address,
    Customer,
    ErpAddress,
    ErpOrderLine,
    ErpSalesOrder,
    Order,
    OrderLine,
    Payment,
    PaymentState,
    Shipping,
)
from trueup.model.work import Job, Park
from trueup.rules.stock import sellable_qty

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
D = Decimal


def sales_order(external_id: str = "000000101") -> ErpSalesOrder:
    address = ErpAddress(
        name="Ann Smith",
        lines=("Flat 2", "10 High Street"),
        city="Leeds",
        postcode="LS1 4AP",
        country="GB",
        phone="0113 496 0000",
        email="ann@example.co.uk",
    )
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
                sku="TU0001-M-Navy",
                erp_item_id="IT-000001",
                description="Tee 1 M Navy",
                qty=D(2),
                unit_price=D("15.00"),
                net=D("30.00"),
                discount=D("0.00"),
                tax=D("6.00"),
                tax_rate=D("20"),
                gross=D("36.00"),
                storefront_line_id="1",
            ),
            ErpOrderLine(
                line_no=2,
                sku="TU0002",
                erp_item_id="IT-000003",
                description="Accessory 2",
                qty=D(1),
                unit_price=D("10.00"),
                net=D("10.00"),
                discount=D("0.00"),
                tax=D("2.00"),
                tax_rate=D("20"),
                gross=D("12.00"),
                storefront_line_id="3",
            ),
        ),
        shipping_net=D("3.29"),
        shipping_tax=D("0.66"),
        discount_total=D("0.00"),
        tax_total=D("8.66"),
        grand_total=D("51.95"),
        payment_method="stripe_payments",
        payment_reference="ch_1",
    )


def credit_note(external_id: str = "CM-101", order_id: str = "000000101") -> CreditNote:
    return CreditNote(
        external_id=external_id,
        order_id=order_id,
        created_at=NOW,
        currency="GBP",
        lines=(
            CreditNoteLine(
                sku="TU0001-M-Navy",
                erp_item_id="IT-000001",
                qty=1,
                net=D("15.00"),
                tax=D("3.00"),
                tax_rate=D("20"),
                gross=D("18.00"),
                restock=True,
            ),
        ),
        total=D("18.00"),
        reason="too small",
    )


async def test_items_come_back_with_their_erp_ids_and_active_flags(case: Case) -> None:
    items = {i.sku: i for page in [p async for p in case.erp.items()] for i in page}
    assert set(items) == {i["sku"] for i in ITEMS}
    assert items["TU0003-OLD"].active is False and items["TU0002"].active is True
    assert all(items[i["sku"]].erp_item_id for i in ITEMS)


async def test_posting_the_same_order_three_times_gives_one_erp_order(case: Case) -> None:
    refs = {await case.erp.post_sales_order(sales_order()) for _ in range(3)}
    assert len(refs) == 1
    assert case.sandbox.sales_order_counts() == {"000000101": 1}
    assert await case.erp.find_sales_order("000000101") == refs.pop()
    assert await case.erp.find_sales_order("000000999") is None


async def test_an_order_with_an_unknown_sku_is_parked_naming_the_sku(case: Case) -> None:
    items = {i.sku: i for page in [p async for p in case.erp.items()] for i in page}

    class Items:
        async def items_for(self, skus: object) -> dict[str, ErpItem]:
            return items

    class Clock:
        def now(self) -> datetime:
            return NOW

    class Source:
        name = "magento"

    address = Address(
        first_name="Ann",
        last_name="Smith",
        street=("10 High Street",),
        city="Leeds",
        postcode="LS1 4AP",
        country="GB",
    )
    order = Order(
        order_id="000000102",
        storefront_entity_id="102",
        storefront="magento",
        status="processing",
        currency="GBP",
        created_at=NOW,
        updated_at=NOW,
        customer=Customer(email="ann@example.co.uk"),
        billing_address=address,
        shipping_address=address,
        lines=(
            OrderLine(
                line_id="1", sku="NOT-IN-ERP", qty=D(1), row_total=D("10.00"), tax=D("2.00"), tax_rate=D("20")
            ),
        ),
        shipping=Shipping(method="flatrate_flatrate"),
        payment=Payment(method="x", state=PaymentState.CAPTURED, amount_paid=D("12.00")),
        subtotal=D("10.00"),
        tax_total=D("2.00"),
        grand_total=D("12.00"),
    )
    rules = OrderRules(limits=case.erp.limits, carriers={"flatrate_flatrate": ("RM", "TRACKED48")})
    flow = OrderFlow(Source(), case.erp, Items(), rules, Clock())  # type: ignore[arg-type]
    [outcome] = await flow.handle(
        [Job(1, "order.post", "000000102", "order:000000102", order.model_dump_json(), 1, "v1")]
    )
    assert isinstance(outcome, Park) and outcome.problem.reason == Reason.UNKNOWN_SKU
    assert "NOT-IN-ERP" in outcome.problem.message
    assert case.sandbox.sales_order_counts() == {}


async def test_only_the_sellable_figure_comes_back_for_stock(case: Case) -> None:
    case.sandbox.set_stock("TU0001-M-Navy", "WEB", on_hand=10, allocated=3, quarantined=2)
    case.sandbox.set_stock("TU0002", "WEB", on_hand=4)
    levels = {lv.sku: lv for snap in [s async for s in case.erp.stock()] for lv in snap.levels}
    assert sellable_qty(levels["TU0001-M-Navy"]) == 5
    assert sellable_qty(levels["TU0002"]) == 4
    snapshots = [s async for s in case.erp.stock()]
    assert all(s.taken_at <= datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=1) for s in snapshots)


async def test_prices_come_back_as_decimals_per_currency(case: Case) -> None:
    case.sandbox.set_price("TU0002", "GBP", "19.99")
    prices = [p for page in [pg async for pg in case.erp.prices()] for p in page]
    assert any(p.sku == "TU0002" and p.currency == "GBP" and p.price == D("19.99") for p in prices)


async def test_a_despatch_comes_back_once_with_the_storefront_order_id_and_tracking(case: Case) -> None:
    await case.erp.post_sales_order(sales_order())
    despatch_id = case.sandbox.despatch(
        "000000101", carrier="RM", service="TRACKED48", tracking="RM123456785GB"
    )
    pages = [p async for p in case.erp.despatches_since(None)]
    found = [d for p in pages for d in p.despatches]
    assert [(d.despatch_id, d.order_id, d.carrier, d.tracking_numbers) for d in found] == [
        (despatch_id, "000000101", "RM", ("RM123456785GB",))
    ]
    assert Counter({ln.sku: ln.qty for ln in found[0].lines}) == Counter({"TU0001-M-Navy": 2, "TU0002": 1})
    after = [d for p in [p async for p in case.erp.despatches_since(pages[-1].cursor)] for d in p.despatches]
    assert after == []


async def test_a_despatch_that_closes_the_order_short_says_so_and_an_earlier_partial_does_not(
    case: Case,
) -> None:
    await case.erp.post_sales_order(sales_order())
    first = case.sandbox.despatch(
        "000000101", carrier="RM", service="TRACKED48", tracking="RM1", lines=[("TU0002", 1)]
    )
    last = case.sandbox.despatch(
        "000000101",
        carrier="RM",
        service="TRACKED48",
        tracking="RM2",
        lines=[("TU0001-M-Navy", 1)],  # one of two: the warehouse closes the order one unit short
        closes_order=True,
    )
    found = {
        d.despatch_id: d for p in [p async for p in case.erp.despatches_since(None)] for d in p.despatches
    }
    # both read after the order was closed: only the despatch that closed it says so
    assert (found[first].closes_order, found[last].closes_order) == (False, True)


async def test_a_credit_note_posts_once_however_often_it_is_sent(case: Case) -> None:
    await case.erp.post_sales_order(sales_order())
    refs = {await case.erp.post_credit_note(credit_note()) for _ in range(3)}
    assert len(refs) == 1
    assert case.sandbox.credit_note_counts() == {"CM-101": 1}
    assert await case.erp.find_credit_note("CM-101") == refs.pop()
    assert await case.erp.find_credit_note("CM-999") is None


async def test_the_ledger_lists_the_invoice_and_the_credit_note_for_the_period(case: Case) -> None:
    await case.erp.post_sales_order(sales_order())
    case.sandbox.despatch("000000101", carrier="RM", service="TRACKED48", tracking="RM123456785GB")
    await case.erp.post_credit_note(credit_note())
    today = NOW.date()
    entries = [
        e
        for page in [p async for p in case.erp.ledger(today - timedelta(days=1), today + timedelta(days=1))]
        for e in page
    ]
    by_kind = {e.kind: e for e in entries if e.order_id == "000000101"}
    assert by_kind[LedgerKind.INVOICE].gross == D("51.95")
    assert by_kind[LedgerKind.CREDIT_NOTE].gross == D("18.00")
    assert all(e.currency == "GBP" for e in entries)
    earlier = [
        e
        for page in [p async for p in case.erp.ledger(today - timedelta(days=10), today - timedelta(days=5))]
        for e in page
    ]
    assert earlier == []
