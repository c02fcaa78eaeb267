"""Magento stock over real HTTP: trueup's `MagentoStock` sink and reader against the sandbox Magento's MSI
emulation, every request and response checked against Adobe's published schema (vendored), plus the
reservation test (R-STK-4): a checkout that reserves stock during a push keeps its reservation, and the
salable quantity is the pushed quantity less the reservation, so nothing is oversold."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import msgspec
import pytest
from starlette.types import ASGIApp

from trueup.connectors.http import Response
from trueup.connectors.magento.client import MagentoClient
from trueup.connectors.magento.prices import MagentoPrices
from trueup.connectors.magento.stock import MagentoStock
from trueup.model.prices import ALL_GROUPS, PriceRow
from trueup.model.stock import SourceQty
from trueup.sandbox.magento import MagentoState, create_app
from trueup.sandbox.magento_inventory import InventoryState
from trueup.sandbox.magento_prices import PriceState

CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "magento" / "magento_rest_subset.json"


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        out = {key: _nullable(value) for key, value in node.items()}
        if isinstance(node.get("type"), str):
            out["type"] = [node["type"], "null"]
        return out
    if isinstance(node, list):
        return [_nullable(value) for value in node]
    return node


SPEC = json.loads(CONTRACT.read_text())
DEFINITIONS = _nullable(SPEC["definitions"])
DEFINITIONS["error-parameters"] = {"type": ["array", "object", "null"]}


def _optional(node: Any) -> Any:
    """Drop `required` inside definitions: the published stock item lists all 30 of its fields as required,
    while Magento takes a partial `stockItem` ({"qty", "is_in_stock"}, Adobe's own example) on PUT."""
    if isinstance(node, dict):
        return {k: _optional(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_optional(v) for v in node]
    return node


PARTIAL = {
    **DEFINITIONS,
    "catalog-inventory-data-stock-item-interface": _optional(
        DEFINITIONS["catalog-inventory-data-stock-item-interface"]
    ),
}


def validator(schema: Mapping[str, Any]) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator({**schema, "definitions": PARTIAL})


def body_schema(path: str, method: str) -> Mapping[str, Any]:
    params = SPEC["paths"][path][method]["parameters"]
    return next(p["schema"] for p in params if p["in"] == "body")


def response_schema(path: str, method: str, status: int) -> Mapping[str, Any] | None:
    """The schema of this answer; a 200 the schema does not list is a void call (no body to check)."""
    responses = SPEC["paths"][path][method]["responses"]
    found = responses.get(str(status)) or (responses.get("default") if status >= 400 else None)
    return found.get("schema") if found else None


@dataclass
class Checked:
    """Every call the sink makes, with its request body and response validated against the schema."""

    calls: list[tuple[str, str, int]]


def contract_checked(sink: MagentoStock | MagentoPrices) -> Checked:
    checked = Checked([])
    original = sink.http.request
    salable = "/V1/inventory/get-product-salable-quantity/"
    templates = {
        "/V1/inventory/source-items": "/V1/inventory/source-items",
        salable: salable + "{sku}/{stockId}",
        "/V1/products/": "/V1/products/{productSku}/stockItems/{itemId}",
        "/V1/bulk/": "/V1/bulk/{bulkUuid}/detailed-status",
        "/V1/products/base-prices": "/V1/products/base-prices",
        "/V1/products/base-prices-information": "/V1/products/base-prices-information",
        "/V1/products/special-price-information": "/V1/products/special-price-information",
        "/V1/products/tier-prices-information": "/V1/products/tier-prices-information",
        "/V1/products/special-price": "/V1/products/special-price",
        "/V1/products/tier-prices": "/V1/products/tier-prices",
    }

    async def request(method: str, path: str, **kwargs: Any) -> Response:
        if path.startswith("/async/bulk/"):  # not in the published schema: its synthesized answer
            resp = await original(method, path, **kwargs)
            for body in kwargs["body"]:
                validator(body_schema("/V1/inventory/source-items", "post")).validate(body)
            validator(
                {"$ref": "#/definitions/asynchronous-operations-data-async-response-interface"}
            ).validate(resp.body)
            checked.calls.append((method, "/async/bulk/V1/inventory/source-items", resp.status))
            return resp
        template = next(
            t for p, t in sorted(templates.items(), key=lambda kv: -len(kv[0])) if path.startswith(p)
        )
        op = method.lower()
        if kwargs.get("body") is not None:
            # the body as the Magento client writes it (a Decimal as a JSON number, digit for digit)
            wire = msgspec.json.Encoder(decimal_format="number").encode(kwargs["body"])
            validator(body_schema(template, op)).validate(json.loads(wire))
        resp = await original(method, path, **kwargs)
        schema = response_schema(template, op, resp.status)
        if schema is not None:
            validator(schema).validate(resp.body)
        checked.calls.append((method, template, resp.status))
        return resp

    sink.http.request = request  # type: ignore[method-assign]
    return checked


@dataclass
class Store:
    inventory: InventoryState
    sink: MagentoStock
    checked: Checked
    prices: PriceState
    price_sink: MagentoPrices
    price_checked: Checked


@pytest.fixture
async def store(serve: Callable[[ASGIApp], str], token: str) -> AsyncIterator[Store]:
    inventory = InventoryState(sources={"default", "east"})
    prices = PriceState(products={"A", "B", "C"})
    root = serve(create_app(MagentoState(), token=token, inventory=inventory, prices=prices))
    async with aiohttp.ClientSession() as session:
        client = MagentoClient(session, root + "/rest/default", token)
        sink = MagentoStock(client, page_size=3, poll_seconds=0)
        checked = contract_checked(sink)
        price_sink = MagentoPrices(MagentoClient(session, root + "/rest/default", token))
        yield Store(inventory, sink, checked, prices, price_sink, contract_checked(price_sink))


async def test_a_batch_sets_source_quantities_in_one_call(store: Store) -> None:
    rows = [SourceQty("A", "default", 5), SourceQty("A", "east", 0), SourceQty("B", "default", 2)]
    report = await store.sink.push_stock_batch(rows)
    assert report.api_calls == 1 and not report.rejected
    assert store.inventory.items == {
        ("A", "default"): [5, 1],
        ("A", "east"): [0, 0],
        ("B", "default"): [2, 1],
    }
    assert store.checked.calls == [("POST", "/V1/inventory/source-items", 200)]


async def test_a_refused_batch_is_halved_until_the_refused_item_stands_alone(store: Store) -> None:
    """Magento fails a whole batch for one unknown source and does not say which: the sink halves it until
    the refused item stands alone, so everything else is saved."""
    rows = [SourceQty("A", "default", 5), SourceQty("A", "nowhere", 1), SourceQty("B", "east", 2)]
    report = await store.sink.push_stock_batch(rows)
    assert report.rejected == {("A", "nowhere"): "Could not save Source Item"}
    assert store.inventory.items == {("A", "default"): [5, 1], ("B", "east"): [2, 1]}
    # [A, A@nowhere, B] 400 → [A] 200, [A@nowhere, B] 400 → [A@nowhere] 400, [B] 200
    assert [c[2] for c in store.checked.calls] == [400, 200, 400, 400, 200]
    assert report.api_calls == 5


async def test_source_items_are_read_by_key_even_when_items_arrive_between_pages(store: Store) -> None:
    for i in range(10):
        store.inventory.set_quantity(f"S{i:02d}", "default", i)
    seen: list[str] = []
    async for page in store.sink.source_items():
        seen += [r.sku for r in page]
        # A new item sorting before the key read so far arrives mid-pass: an offset would shift and skip
        # one item per arrival; the key does not.
        store.inventory.set_quantity(f"A{len(seen):02d}", "default", 1)
    assert [s for s in seen if s.startswith("S")] == [f"S{i:02d}" for i in range(10)]
    assert all(call[1] == "/V1/inventory/source-items" for call in store.checked.calls)


async def test_legacy_single_source_mode_puts_each_stock_item(store: Store) -> None:
    store.sink.mode = "legacy"
    report = await store.sink.push_stock_batch([SourceQty("A", "default", 3), SourceQty("B", "default", 0)])
    assert report.api_calls == 2
    assert store.inventory.items == {("A", "default"): [3, 1], ("B", "default"): [0, 0]}
    assert {c[1] for c in store.checked.calls} == {"/V1/products/{productSku}/stockItems/{itemId}"}


async def test_async_bulk_polls_until_done_retries_retriable_failures_and_reports_failures_per_sku(
    store: Store,
) -> None:
    store.sink.mode = "async"
    store.inventory.bulk_fail_once = {"B"}  # a deadlock in the consumer: retriable
    rows = [SourceQty("A", "default", 4), SourceQty("B", "east", 2), SourceQty("C", "nowhere", 1)]
    report = await store.sink.push_stock_batch(rows)
    assert report.rejected == {("C", "nowhere"): "Could not save Source Item"}
    assert store.inventory.items == {("A", "default"): [4, 1], ("B", "east"): [2, 1]}
    # Round 1: POST, a poll that finds everything open, a poll with the results; round 2 for B alone.
    assert [c[1] for c in store.checked.calls] == [
        "/async/bulk/V1/inventory/source-items",
        "/V1/bulk/{bulkUuid}/detailed-status",
        "/V1/bulk/{bulkUuid}/detailed-status",
    ] * 2
    assert report.api_calls == 6
    assert {c[2] for c in store.checked.calls} == {200, 202}


async def test_a_checkout_during_a_push_keeps_its_reservation_and_nothing_is_oversold(store: Store) -> None:
    """R-STK-4. The ERP says 10 sellable; a customer checks out 3 while the push is in flight. trueup pushes
    the source quantity (10), never a salable one, so Magento's reservation of 3 stays and salable is 7."""
    await store.sink.push_stock_batch([SourceQty("TEE", "default", 6)])
    store.inventory.place_order("TEE", 2, order="000000001")  # an earlier order, not yet shipped
    store.inventory.during_save.append(lambda: store.inventory.place_order("TEE", 3, order="000000002"))
    await store.sink.push_stock_batch([SourceQty("TEE", "default", 10)])
    assert store.inventory.quantity("TEE", "default") == 10
    assert store.inventory.reserved("TEE") == 5  # both reservations intact
    salable = await store.sink.salable_qty("TEE", 1)
    assert salable == 10 - 5
    # Customers can buy exactly what is salable: the 5 reserved units are not sold twice.
    assert salable + store.inventory.reserved("TEE") == store.inventory.quantity("TEE", "default")
    assert ("GET", "/V1/inventory/get-product-salable-quantity/{sku}/{stockId}", 200) in store.checked.calls


async def test_prices_answer_200_with_the_rows_refused_and_save_the_rest(store: Store) -> None:
    """Magento's bulk price endpoints: 200 with `[]` when all is saved, 200 with `{message, parameters}`
    per refused row otherwise (no such product, a negative price); the valid rows are saved either way."""
    rows = [
        PriceRow("A", "base", ALL_GROUPS, 1, "19.9900"),
        PriceRow("NOPE", "base", ALL_GROUPS, 1, "3.0000"),
        PriceRow("B", "special", ALL_GROUPS, 1, "4.5000"),
        PriceRow("C", "special", ALL_GROUPS, 1, "-1.0000"),
        PriceRow("C", "tier", "Trade", 10, "7.2500"),
    ]
    report = await store.price_sink.push_price_batch(rows)
    assert set(report.rejected) == {("NOPE", "base", ALL_GROUPS, 1), ("C", "special", ALL_GROUPS, 1)}
    assert (
        "Requested product doesn't exist. Row ID: SKU = NOPE"
        in report.rejected[("NOPE", "base", ALL_GROUPS, 1)]
    )
    assert store.prices.base == {"A": Decimal("19.99")}  # exact: a JSON number, never a rounded float
    assert store.prices.special == {"B": Decimal("4.5")}
    assert store.prices.tier == {("C", "Trade", 10): Decimal("7.25")}
    assert report.api_calls == 3
    assert await store.price_sink.base_prices(["A", "B", "NOPE"]) == {"A": Decimal("19.99")}
    assert [c[1:] for c in store.price_checked.calls] == [
        ("/V1/products/base-prices", 200),
        ("/V1/products/special-price", 200),
        ("/V1/products/tier-prices", 200),
        ("/V1/products/base-prices-information", 200),
    ]


async def test_every_price_kind_is_read_back_for_drift(store: Store) -> None:
    """Base, special and tier prices read back in three calls, each answer as the schema says."""
    await store.price_sink.push_price_batch(
        [
            PriceRow("A", "base", ALL_GROUPS, 1, "19.9900"),
            PriceRow("B", "special", ALL_GROUPS, 1, "4.5000"),
            PriceRow("C", "tier", "Trade", 10, "7.2500"),
        ]
    )
    shown = await store.price_sink.shown_prices(["A", "B", "C"])
    assert shown == {
        ("A", "base", ALL_GROUPS, 1): Decimal("19.99"),
        ("B", "special", ALL_GROUPS, 1): Decimal("4.5"),
        ("C", "tier", "Trade", 10): Decimal("7.25"),
    }
    assert [c[1:] for c in store.price_checked.calls][-3:] == [
        ("/V1/products/base-prices-information", 200),
        ("/V1/products/special-price-information", 200),
        ("/V1/products/tier-prices-information", 200),
    ]
