"""The generic REST ERP connector against the REST ERP sandbox over real HTTP: posting is idempotent on the
storefront order id, an order that reached the ERP behind a failed response can be found again, field-limit
refusals name the field, and the item master pages through exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest

from trueup.connectors.rest.connector import RestErp
from trueup.errors import Fatal, RateLimited, Rejected, Unavailable
from trueup.model.exceptions import Reason
from trueup.model.orders import ErpAddress, ErpOrderLine, ErpSalesOrder
from trueup.sandbox.faults import Faults
from trueup.sandbox.rest_erp import RestErpState, create_app
from trueup.sandbox.serve import ServerThread

D = Decimal
TOKEN = "erp-test-token"


@dataclass
class Erp:
    url: str  # http://127.0.0.1:port/api/v1
    state: RestErpState
    faults: Faults


@pytest.fixture
def erp() -> Iterator[Erp]:
    state, faults = RestErpState(), Faults()
    state.add_item("IT-000001", "MUG-1", name="Mug", updated_at="2026-11-23T08:00:00Z")
    state.add_item("IT-000002", "TEE-M", name="Tee M", updated_at="2026-11-23T08:00:00Z")
    with ServerThread(create_app(state, token=TOKEN, faults=faults)) as server:
        yield Erp(server.url + "/api/v1", state, faults)


@pytest.fixture
async def connect(erp: Erp) -> AsyncIterator[Callable[..., RestErp]]:
    made: list[RestErp] = []

    def make(token: str = TOKEN, page_size: int = 500) -> RestErp:
        made.append(RestErp(erp.url, token, page_size=page_size))
        return made[-1]

    yield make
    for connector in made:
        await connector.aclose()


def address(*lines: str) -> ErpAddress:
    return ErpAddress(name="Ann Smith", lines=lines or ("Flat 2", "10 High Street"), city="Leeds",
                      postcode="LS1 4AP", country="GB", email="ann@example.co.uk")  # fmt: skip


def sales_order(
    external_id: str = "000000007", *, ship_to: ErpAddress | None = None, qty: int = 2
) -> ErpSalesOrder:
    """Built directly, bypassing trueup's own checks, so that the ERP's checks can be seen."""
    net, tax = D("5.00") * qty, D("1.00") * qty
    return ErpSalesOrder(
        external_id=external_id,
        order_date=datetime(2026, 11, 23, 9, 14, 3),
        currency="GBP",
        customer_email="ann@example.co.uk",
        customer_name="Ann Smith",
        bill_to=address(),
        ship_to=ship_to or address(),
        carrier="RM",
        service="TRACKED48",
        lines=(
            ErpOrderLine(
                line_no=1,
                sku="MUG-1",
                erp_item_id="IT-000001",
                description="Mug",
                qty=D(qty),
                unit_price=D("5.0000"),
                net=net,
                discount=D(0),
                tax=tax,
                tax_rate=D(20),
                gross=net + tax,
                storefront_line_id="71",
            ),
        ),
        shipping_net=D("3.29"),
        shipping_tax=D("0.66"),
        discount_total=D(0),
        tax_total=tax + D("0.66"),
        grand_total=net + tax + D("3.95"),
        payment_method="stripe_payments",
        payment_reference="ch_1",
    )


# --- sales orders ----------------------------------------------------------------------------------------


async def test_posting_returns_the_sales_order_id(erp: Erp, connect: Callable[..., RestErp]) -> None:
    ref = await connect().post_sales_order(sales_order())
    assert ref.startswith("SO-")
    [stored] = erp.state.find("000000007")
    assert stored["sales_order_id"] == ref
    assert (stored["grand_total"], stored["lines"][0]["gross"], stored["shipping"]) == (
        "15.95", "12.00", {"net": "3.29", "tax": "0.66"}
    )  # fmt: skip
    assert erp.state.idempotency_keys[ref] == "000000007"


async def test_posting_the_same_order_again_returns_the_same_id(
    erp: Erp, connect: Callable[..., RestErp]
) -> None:
    client = connect()
    first = await client.post_sales_order(sales_order())
    again = await client.post_sales_order(sales_order())
    assert again == first
    assert len(erp.state.sales_orders) == 1
    assert len(erp.state.find("000000007")) == 1


async def test_find_sales_order_finds_a_posted_order_or_returns_none(connect: Callable[..., RestErp]) -> None:
    client = connect()
    assert await client.find_sales_order("000000007") is None
    ref = await client.post_sales_order(sales_order())
    assert await client.find_sales_order("000000007") == ref
    assert await client.find_sales_order("000000008") is None


async def test_an_address_line_over_35_characters_is_rejected_naming_the_field(
    erp: Erp, connect: Callable[..., RestErp]
) -> None:
    order = sales_order(ship_to=address("Flat 2", "X" * 36))
    with pytest.raises(Rejected) as caught:
        await connect().post_sales_order(order)
    assert caught.value.field == "ship_to.lines[1]"
    assert caught.value.reason == Reason.ERP_REJECTED
    assert "ship_to.lines[1]" in str(caught.value) and "Resolution:" in str(caught.value)
    assert erp.state.sales_orders == {}


async def test_an_unknown_item_is_rejected_naming_the_line(connect: Callable[..., RestErp]) -> None:
    order = sales_order()
    order = order.model_copy(update={"lines": (order.lines[0].model_copy(update={"erp_item_id": "IT-404"}),)})
    with pytest.raises(Rejected) as caught:
        await connect().post_sales_order(order)
    assert caught.value.field == "lines[0].item_id"


async def test_a_failure_after_commit_is_unavailable_but_the_order_can_be_found(
    erp: Erp, connect: Callable[..., RestErp]
) -> None:
    """The ERP stored the order and then answered 502: which is why trueup looks up before re-posting."""
    client = connect()
    erp.faults.update({"error_after_commit_rate": 1.0})
    with pytest.raises(Unavailable, match="502"):
        await client.post_sales_order(sales_order())
    erp.faults.clear()
    ref = await client.find_sales_order("000000007")
    assert ref is not None
    assert [so["sales_order_id"] for so in erp.state.find("000000007")] == [ref]
    assert await client.post_sales_order(sales_order()) == ref  # and a re-post still makes no second copy
    assert len(erp.state.sales_orders) == 1


async def test_a_wrong_token_is_fatal(connect: Callable[..., RestErp]) -> None:
    with pytest.raises(Fatal, match="401"):
        await connect(token="wrong").post_sales_order(sales_order())


async def test_rate_limiting_is_retriable_with_retry_after(erp: Erp, connect: Callable[..., RestErp]) -> None:
    erp.faults.update({"rate_limit_rate": 1.0, "retry_after": 3})
    with pytest.raises(RateLimited) as caught:
        await connect().find_sales_order("000000007")
    assert caught.value.retry_after == 3.0


async def test_a_quantity_of_ten_goes_out_as_a_plain_decimal(
    erp: Erp, connect: Callable[..., RestErp]
) -> None:
    await connect().post_sales_order(sales_order(qty=10))
    [stored] = erp.state.find("000000007")
    assert stored["lines"][0]["qty"] == "10"


# --- items -----------------------------------------------------------------------------------------------


async def test_items_pages_through_every_item_exactly_once(erp: Erp, connect: Callable[..., RestErp]) -> None:
    erp.state.items.clear()
    for n in range(1234):
        erp.state.add_item(
            f"IT-{n:06d}", f"SKU-{n:04d}", active=n % 7 != 0, updated_at="2026-11-23T08:00:00Z"
        )
    erp.faults.reset_stats()
    pages = [list(page) async for page in connect(page_size=500).items()]
    assert [len(p) for p in pages] == [500, 500, 234]
    ids = [item.erp_item_id for page in pages for item in page]
    assert len(ids) == len(set(ids)) == 1234
    assert set(ids) == set(erp.state.items)
    assert erp.faults.stats.requests == 3
    by_id = {item.erp_item_id: item for page in pages for item in page}
    assert (by_id["IT-000007"].sku, by_id["IT-000007"].active, by_id["IT-000008"].active) == (
        "SKU-0007",
        False,
        True,
    )


async def test_items_of_an_empty_item_master_yields_nothing(
    erp: Erp, connect: Callable[..., RestErp]
) -> None:
    erp.state.items.clear()
    assert [page async for page in connect().items()] == []


async def test_a_rate_limit_storm_resumes_the_item_master_from_the_page_that_failed(
    erp: Erp, connect: Callable[..., RestErp]
) -> None:
    """Every other request answered 429: the listing once gave up, or started again from page 1."""
    erp.state.items.clear()
    for n in range(600):
        erp.state.add_item(f"IT-{n:06d}", f"SKU-{n:04d}", updated_at="2026-11-23T08:00:00Z")
    erp.faults.update({"rate_limit_rate": 0.5, "retry_after": 0, "seed": 3})
    skus = [item.sku async for page in connect(page_size=50).items() for item in page]
    assert skus == sorted(skus) and len(skus) == len(set(skus)) == 600
    assert erp.faults.stats.rate_limited > 0
