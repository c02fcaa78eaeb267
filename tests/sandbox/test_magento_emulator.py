"""The Magento 2 orders emulator over real HTTP: auth, searchCriteria, paging quirks, errors, faults and the
published REST contract (`contracts/magento/magento_rest_subset.json`, vendored)."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from starlette.types import ASGIApp

from trueup.sandbox.faults import Faults
from trueup.sandbox.magento import MagentoState, create_app, parse_search_criteria

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACT = REPO_ROOT / "contracts" / "magento" / "magento_rest_subset.json"

D = Decimal


# --- a realistic Magento order ---------------------------------------------------------------------------


def _address(kind: str, entity_id: int, parent_id: int, email: str) -> dict[str, Any]:
    return {
        "address_type": kind,
        "city": "Leeds",
        "company": None,
        "country_id": "GB",
        "email": email,
        "entity_id": entity_id,
        "firstname": "Ann",
        "lastname": "Smith",
        "parent_id": parent_id,
        "postcode": "LS1 4AP",
        "region": None,
        "region_code": None,
        "region_id": None,
        "street": ["Flat 2", "10 High Street"],
        "telephone": "0113 496 0000",
    }


def make_order(
    entity_id: int,
    *,
    updated_at: str = "2026-11-23 09:14:03",
    created_at: str | None = None,
    status: str = "pending",
    store_id: int = 1,
    grand_total: Decimal = D("27.00"),
    email: str = "ann@example.co.uk",
) -> dict[str, Any]:
    """A Magento order as GET /V1/orders/{id} returns it: a configurable parent + child pair, addresses,
    payment and a shipping assignment. Amounts are Decimal; row prices make up `grand_total`."""
    created = created_at or updated_at
    shipping, shipping_tax = D("4.17"), D("0.83")
    row_incl = grand_total - shipping - shipping_tax
    row_tax = (row_incl / 6).quantize(D("0.01"))
    row = row_incl - row_tax
    parent_item_id, child_item_id = entity_id * 10 + 1, entity_id * 10 + 2
    parent = {
        "amount_refunded": D("0.00"),
        "base_discount_amount": D("0.00"),
        "base_original_price": row_incl,
        "base_price": row,
        "base_price_incl_tax": row_incl,
        "base_row_total": row,
        "base_row_total_incl_tax": row_incl,
        "base_tax_amount": row_tax,
        "created_at": created,
        "discount_amount": D("0.00"),
        "discount_percent": D("0.00"),
        "is_qty_decimal": 0,
        "is_virtual": 0,
        "item_id": parent_item_id,
        "name": "Radiant Tee",
        "order_id": entity_id,
        "original_price": row_incl,
        "price": row,
        "price_incl_tax": row_incl,
        "product_id": 1553,
        "product_type": "configurable",
        "product_option": {
            "extension_attributes": {
                "configurable_item_options": [
                    {"option_id": "93", "option_value": 56},
                    {"option_id": "144", "option_value": 168},
                ]
            }
        },
        "qty_canceled": D("0"),
        "qty_invoiced": D("0"),
        "qty_ordered": D("1"),
        "qty_refunded": D("0"),
        "qty_shipped": D("0"),
        "quote_item_id": parent_item_id,
        "row_total": row,
        "row_total_incl_tax": row_incl,
        "row_weight": D("1"),
        "sku": "WS12-M-Orange",
        "store_id": store_id,
        "tax_amount": row_tax,
        "tax_percent": D("20"),
        "updated_at": updated_at,
        "weight": D("1"),
    }
    child = {
        "amount_refunded": D("0.00"),
        "base_original_price": D("0.00"),
        "base_price": D("0.00"),
        "base_row_total": D("0.00"),
        "created_at": created,
        "item_id": child_item_id,
        "name": "Radiant Tee-M-Orange",
        "order_id": entity_id,
        "original_price": D("0.00"),
        "parent_item": copy.deepcopy(parent),
        "parent_item_id": parent_item_id,
        "price": D("0.00"),
        "product_id": 1546,
        "product_type": "simple",
        "qty_canceled": D("0"),
        "qty_invoiced": D("0"),
        "qty_ordered": D("1"),
        "qty_refunded": D("0"),
        "qty_shipped": D("0"),
        "quote_item_id": child_item_id,
        "row_total": D("0.00"),
        "sku": "WS12-M-Orange",
        "store_id": store_id,
        "tax_amount": D("0.00"),
        "updated_at": updated_at,
        "weight": D("1"),
    }
    items = [parent, child]
    return {
        "base_currency_code": "GBP",
        "base_discount_amount": D("0.00"),
        "base_grand_total": grand_total,
        "base_shipping_amount": shipping,
        "base_shipping_incl_tax": shipping + shipping_tax,
        "base_shipping_tax_amount": shipping_tax,
        "base_subtotal": row,
        "base_subtotal_incl_tax": row_incl,
        "base_tax_amount": row_tax + shipping_tax,
        "base_total_due": grand_total,
        "base_to_global_rate": D("1"),
        "base_to_order_rate": D("1"),
        "billing_address_id": entity_id * 2,
        "created_at": created,
        "customer_email": email,
        "customer_firstname": "Ann",
        "customer_group_id": 0,
        "customer_id": None,
        "customer_is_guest": 1,
        "customer_lastname": "Smith",
        "customer_note_notify": 1,
        "discount_amount": D("0.00"),
        "email_sent": 1,
        "entity_id": entity_id,
        "global_currency_code": "GBP",
        "grand_total": grand_total,
        "increment_id": f"{entity_id:09d}",
        "is_virtual": 0,
        "order_currency_code": "GBP",
        "protect_code": f"{entity_id:06x}",
        "quote_id": entity_id + 1000,
        "remote_ip": "203.0.113.7",
        "shipping_amount": shipping,
        "shipping_description": "Royal Mail - Tracked 48",
        "shipping_incl_tax": shipping + shipping_tax,
        "shipping_tax_amount": shipping_tax,
        "state": "processing" if status == "processing" else "new",
        "status": status,
        "store_currency_code": "GBP",
        "store_id": store_id,
        "store_name": "Main Website\nMain Website Store\nDefault Store View",
        "subtotal": row,
        "subtotal_incl_tax": row_incl,
        "tax_amount": row_tax + shipping_tax,
        "total_due": grand_total,
        "total_item_count": 2,
        "total_qty_ordered": D("1"),
        "updated_at": updated_at,
        "weight": D("1"),
        "items": items,
        "billing_address": _address("billing", entity_id * 2, entity_id, email),
        "payment": {
            "account_status": None,
            "additional_information": ["Check / Money order"],
            "amount_ordered": grand_total,
            "base_amount_ordered": grand_total,
            "base_shipping_amount": shipping,
            "cc_last4": None,
            "entity_id": entity_id,
            "method": "checkmo",
            "parent_id": entity_id,
            "shipping_amount": shipping,
        },
        "status_histories": [],
        "extension_attributes": {
            "shipping_assignments": [
                {
                    "shipping": {
                        "address": _address("shipping", entity_id * 2 - 1, entity_id, email),
                        "method": "royalmail_tracked48",
                        "total": {
                            "base_shipping_amount": shipping,
                            "base_shipping_incl_tax": shipping + shipping_tax,
                            "base_shipping_tax_amount": shipping_tax,
                            "shipping_amount": shipping,
                            "shipping_discount_amount": D("0.00"),
                            "shipping_incl_tax": shipping + shipping_tax,
                            "shipping_tax_amount": shipping_tax,
                        },
                    },
                    "items": copy.deepcopy(items),
                }
            ]
        },
    }


# --- fixtures --------------------------------------------------------------------------------------------


@dataclass
class Magento:
    state: MagentoState
    faults: Faults
    root: str  # http://127.0.0.1:port
    api: str  # root + /rest/V1


ORDERS = [
    # entity_id, updated_at, status, store_id, grand_total
    (1, "2026-11-23 09:00:00", "pending", 1, D("27.00")),
    (2, "2026-11-23 10:00:00", "processing", 1, D("105.50")),
    (3, "2026-11-23 10:00:00", "complete", 2, D("9.99")),
    (4, "2026-11-23 11:30:00", "pending", 2, D("27.00")),
    (5, "2026-11-23 12:00:00", "canceled", 1, D("12.00")),
    (6, "2026-11-22 23:59:59", "processing", 1, D("1000.00")),
]


@pytest.fixture
def magento(serve: Callable[[ASGIApp], str], token: str) -> Magento:
    state = MagentoState()
    for entity_id, updated_at, status, store_id, total in ORDERS:
        order = make_order(
            entity_id, updated_at=updated_at, status=status, store_id=store_id, grand_total=total
        )
        state.add_order(order)
    faults = Faults()
    root = serve(create_app(state, token=token, faults=faults))
    return Magento(state, faults, root, root + "/rest/V1")


def criteria(*groups: list[tuple[str, str, str]], camel: bool = False, **extra: Any) -> dict[str, str]:
    """searchCriteria query parameters: each group is a list of (field, value, condition_type)."""
    fg, ct = ("filterGroups", "conditionType") if camel else ("filter_groups", "condition_type")
    params: dict[str, str] = {}
    for i, group in enumerate(groups):
        for j, (field, value, condition) in enumerate(group):
            base = f"searchCriteria[{fg}][{i}][filters][{j}]"
            params[f"{base}[field]"] = field
            params[f"{base}[value]"] = value
            params[f"{base}[{ct}]"] = condition
    for k, (field, direction) in enumerate(extra.pop("sort", [])):
        params[f"searchCriteria[sortOrders][{k}][field]"] = field
        params[f"searchCriteria[sortOrders][{k}][direction]"] = direction
    for key, value in extra.items():
        params[f"searchCriteria[{key}]"] = str(value)
    if not params:
        params["searchCriteria[currentPage]"] = "1"
    return params


async def search(
    http: aiohttp.ClientSession, m: Magento, auth: Mapping[str, str], params: Mapping[str, str]
) -> dict[str, Any]:
    async with http.get(m.api + "/orders", params=params, headers=auth) as resp:
        assert resp.status == 200, await resp.text()
        body: dict[str, Any] = await resp.json()
        return body


def ids(body: Mapping[str, Any]) -> list[int]:
    return [item["entity_id"] for item in body["items"]]


# --- auth ------------------------------------------------------------------------------------------------


async def test_missing_or_wrong_token_is_401(
    http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        for url in (magento.api + "/orders?searchCriteria=", magento.api + "/orders/1"):
            async with http.get(url, headers=headers) as resp:
                assert resp.status == 401
                assert await resp.json() == {
                    "message": "The consumer isn't authorized to access %resources.",
                    "parameters": {"resources": "Magento_Sales::actions_view"},
                }
    async with http.get(magento.api + "/orders/1", headers=auth) as resp:
        assert resp.status == 200


# --- filtering, sorting, paging --------------------------------------------------------------------------


async def test_filters_in_a_group_are_ored_and_groups_anded(
    http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]
) -> None:
    either = [("status", "pending", "eq"), ("status", "processing", "eq")]
    assert ids(await search(http, magento, auth, criteria(either))) == [1, 2, 4, 6]
    body = await search(http, magento, auth, criteria(either, [("store_id", "1", "eq")]))
    assert ids(body) == [1, 2, 6]
    assert body["total_count"] == 3
    assert body["search_criteria"]["filter_groups"] == [
        {"filters": [{"field": "status", "value": "pending", "condition_type": "eq"},
                     {"field": "status", "value": "processing", "condition_type": "eq"}]},
        {"filters": [{"field": "store_id", "value": "1", "condition_type": "eq"}]},
    ]  # fmt: skip


async def test_condition_types(http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]) -> None:
    async def found(*group: tuple[str, str, str]) -> list[int]:
        return ids(await search(http, magento, auth, criteria(list(group))))

    assert await found(("status", "pending", "neq")) == [2, 3, 5, 6]
    assert await found(("grand_total", "27", "gt")) == [2, 6]  # numeric: 105.50 > 27, not "105.50" < "27"
    assert await found(("grand_total", "27.00", "gteq")) == [1, 2, 4, 6]
    assert await found(("grand_total", "12", "lt")) == [3]
    assert await found(("grand_total", "12.0", "lteq")) == [3, 5]
    assert await found(("status", "complete, canceled", "in")) == [3, 5]
    assert await found(("entity_id", "1,2,3", "nin")) == [4, 5, 6]
    assert await found(("status", "proc%", "like")) == [2, 6]
    assert await found(("increment_id", "00000000_", "like")) == [1, 2, 3, 4, 5, 6]
    assert await found(("coupon_code", "", "null")) == [1, 2, 3, 4, 5, 6]
    assert await found(("coupon_code", "", "notnull")) == []
    assert await found(("customer_id", "1", "neq")) == []  # NULL matches no comparison, as in SQL


async def test_range_on_updated_at_sorted(
    http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]
) -> None:
    window = criteria(
        [("updated_at", "2026-11-23 10:00:00", "gteq")],
        [("updated_at", "2026-11-23 11:30:00", "lteq")],
        sort=[("updated_at", "ASC")],
    )
    assert ids(await search(http, magento, auth, window)) == [2, 3, 4]
    window["searchCriteria[sortOrders][0][direction]"] = "DESC"
    assert ids(await search(http, magento, auth, window)) == [4, 2, 3]
    since = criteria([("updated_at", "2026-11-23 10:00:00", "gt")], [("status", "canceled", "neq")])
    assert ids(await search(http, magento, auth, since)) == [4]
    created = criteria([("created_at", "2026-11-23 00:00:00", "lt")])
    assert ids(await search(http, magento, auth, created)) == [6]


async def test_update_order_moves_it_in_the_index_and_refreshes_the_cache(
    http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]
) -> None:
    since = criteria([("updated_at", "2026-11-23 12:00:00", "gteq")], sort=[("updated_at", "ASC")])
    assert ids(await search(http, magento, auth, since)) == [5]
    magento.state.update_order(1, {"status": "complete", "state": "complete"}, "2026-11-23 13:00:00")
    body = await search(http, magento, auth, since)
    assert ids(body) == [5, 1]
    assert body["items"][1]["status"] == "complete"
    assert body["items"][1]["updated_at"] == "2026-11-23 13:00:00"


async def test_sort_orders(http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]) -> None:
    by_total = criteria(sort=[("grand_total", "DESC")])
    assert ids(await search(http, magento, auth, by_total)) == [6, 2, 1, 4, 5, 3]
    by_store_then_total = criteria(sort=[("store_id", "DESC"), ("grand_total", "ASC")])
    assert ids(await search(http, magento, auth, by_store_then_total)) == [3, 4, 5, 1, 2, 6]
    assert ids(await search(http, magento, auth, criteria())) == [1, 2, 3, 4, 5, 6]


async def test_paging_returns_the_last_page_again_past_the_end(
    http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]
) -> None:
    pages = []
    for page in (1, 2, 3, 4, 9):
        body = await search(http, magento, auth, criteria(pageSize=4, currentPage=page))
        assert body["total_count"] == 6
        assert body["search_criteria"]["page_size"] == 4
        assert body["search_criteria"]["current_page"] == page
        pages.append(ids(body))
    assert pages == [[1, 2, 3, 4], [5, 6], [5, 6], [5, 6], [5, 6]]
    # a client that stops when currentPage * pageSize >= total_count sees every order exactly once
    seen: list[int] = []
    page = 1
    while True:
        body = await search(http, magento, auth, criteria(pageSize=4, currentPage=page))
        seen += ids(body)
        if page * 4 >= body["total_count"]:
            break
        page += 1
    assert seen == [1, 2, 3, 4, 5, 6]


async def test_snake_and_camel_spellings_agree(
    http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]
) -> None:
    groups = ([("status", "pending", "eq"), ("status", "complete", "eq")], [("store_id", "2", "eq")])
    snake = await search(http, magento, auth, criteria(*groups, page_size=10, current_page=1))
    camel = await search(http, magento, auth, criteria(*groups, camel=True, pageSize=10, currentPage=1))
    assert ids(snake) == ids(camel) == [3, 4]
    assert snake["search_criteria"] == camel["search_criteria"]
    assert set(snake["search_criteria"]) == {"filter_groups", "page_size", "current_page"}


async def test_store_code_routes(http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]) -> None:
    async with http.get(magento.root + "/rest/default/V1/orders/2", headers=auth) as resp:
        assert resp.status == 200
        assert (await resp.json())["entity_id"] == 2
    async with http.get(
        magento.root + "/rest/all/V1/orders", params=criteria(pageSize=1), headers=auth
    ) as resp:
        assert resp.status == 200
        assert ids(await resp.json()) == [1]


async def test_amounts_are_json_numbers_written_from_decimal(
    http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]
) -> None:
    async with http.get(magento.api + "/orders/2", headers=auth) as resp:
        raw = await resp.text()
    assert '"grand_total":105.50' in raw
    order = json.loads(raw, parse_float=Decimal)
    assert order["grand_total"] == D("105.50")
    assert order["payment"]["cc_last4"] is None
    parent, child = order["items"]
    assert child["parent_item_id"] == parent["item_id"] and child["price"] == 0


# --- errors ----------------------------------------------------------------------------------------------


async def test_bad_condition_or_field_is_400(
    http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]
) -> None:
    cases = [
        (criteria([("status", "pending", "contains")]), ["contains", "condition_type"]),
        (criteria([("no_such_column", "1", "eq")]), ["no_such_column", "field"]),
        (criteria(sort=[("no_such_column", "ASC")]), ["no_such_column", "field"]),
        (criteria(sort=[("entity_id", "UP")]), ["UP", "direction"]),
        (criteria(pageSize="ten"), ["ten", "pageSize"]),
    ]
    for params, parameters in cases:
        async with http.get(magento.api + "/orders", params=params, headers=auth) as resp:
            assert resp.status == 400
            body = await resp.json()
            assert body == {
                "message": 'Invalid value of "%1" provided for the %2 field.',
                "parameters": parameters,
            }
    async with http.get(magento.api + "/orders", headers=auth) as resp:
        assert resp.status == 400
        assert (await resp.json())["parameters"] == {"fieldName": "searchCriteria"}


async def test_unknown_order_and_route_are_404(
    http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]
) -> None:
    async with http.get(magento.api + "/orders/999", headers=auth) as resp:
        assert resp.status == 404
        assert await resp.json() == {
            "message": "The entity that was requested doesn't exist. Verify the entity and try again.",
            "parameters": [],
        }
    async with http.get(magento.api + "/no/such/route", headers=auth) as resp:
        assert resp.status == 404
        assert (await resp.json())["message"] == "Request does not match any route."


# --- faults ----------------------------------------------------------------------------------------------


async def test_error_rate_gives_503_with_a_magento_body(
    http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]
) -> None:
    async with http.post(magento.root + "/_sandbox/faults", json={"error_rate": 1.0}) as resp:
        assert resp.status == 200
        assert (await resp.json())["error_rate"] == 1.0
    async with http.get(magento.api + "/orders/1", headers=auth) as resp:
        assert resp.status == 503
        body = await resp.json()
        assert set(body) == {"message", "parameters"} and body["parameters"] == []
    async with http.get(magento.root + "/_sandbox/faults") as resp:  # admin paths are never faulted
        assert resp.status == 200
    async with http.get(magento.root + "/_sandbox/stats") as resp:
        assert await resp.json() == {
            "requests": 1,
            "faults": {
                "503": 1,
                "429": 0,
                "502_after_commit": 0,
                "slow": 0,
                "maintenance": 0,
                "truncated": 0,
            },
        }


async def test_rate_limit_has_retry_after(
    http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]
) -> None:
    magento.faults.update({"rate_limit_rate": 1.0, "retry_after": 7})
    async with http.get(magento.api + "/orders/1", headers=auth) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "7"
        assert "message" in await resp.json()
    magento.faults.clear()
    async with http.get(magento.api + "/orders/1", headers=auth) as resp:
        assert resp.status == 200


async def test_bad_fault_settings_are_400(http: aiohttp.ClientSession, magento: Magento) -> None:
    for body in ({"error_rate": 2}, {"nope": 1}, {"retry_after": "soon"}, [1]):
        async with http.post(magento.root + "/_sandbox/faults", json=body) as resp:
            assert resp.status == 400
    assert magento.faults.error_rate == 0.0


# --- volume ----------------------------------------------------------------------------------------------


async def test_twenty_thousand_orders_page_by_updated_at(
    http: aiohttp.ClientSession, serve: Callable[[ASGIApp], str], token: str, auth: dict[str, str]
) -> None:
    state = MagentoState()
    for n in range(1, 20_001):  # slim orders: this is about paging and the index, not the order shape
        stamp = f"2026-11-{1 + n // 1000:02d} {n % 24:02d}:{n % 60:02d}:00"
        state.add_order(
            {"entity_id": n, "increment_id": f"{n:09d}", "created_at": stamp, "updated_at": stamp,
             "status": "pending", "grand_total": D(n) / 100, "customer_email": "a@example.com", "items": []}
        )  # fmt: skip
    url = serve(create_app(state, token=token)) + "/rest/default/V1/orders"
    seen: list[int] = []
    stamps: list[str] = []
    page = 1
    while True:
        params = criteria(
            [("updated_at", "2026-11-05 00:00:00", "gteq")],
            sort=[("updated_at", "ASC")],
            pageSize=500,
            currentPage=page,
        )
        async with http.get(url, params=params, headers=auth) as resp:
            body = await resp.json()
        seen += ids(body)
        stamps += [item["updated_at"] for item in body["items"]]
        if page * 500 >= body["total_count"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == body["total_count"] == 20_000 - 3_999
    assert stamps == sorted(stamps)


# --- contract --------------------------------------------------------------------------------------------


def _nullable(node: Any) -> Any:
    """Allow null wherever the schema names a type (the published schema has no notion of null)."""
    if isinstance(node, dict):
        out = {key: _nullable(value) for key, value in node.items()}
        kind = node.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            out["type"] = [*kind, "null"]
        return out
    if isinstance(node, list):
        return [_nullable(value) for value in node]
    return node


@pytest.fixture(scope="module")
def contract() -> Callable[[str], jsonschema.Draft4Validator]:
    definitions = _nullable(json.loads(CONTRACT.read_text())["definitions"])
    # Real error bodies carry `parameters` as a list of strings or a {name: value} object (contract README);
    # the published schema's list of objects fits neither.
    definitions["error-parameters"] = {"type": ["array", "object", "null"]}

    def validator(name: str) -> jsonschema.Draft4Validator:
        schema = {"$ref": f"#/definitions/{name}", "definitions": definitions}
        jsonschema.Draft4Validator.check_schema(schema)
        return jsonschema.Draft4Validator(schema)

    return validator


async def test_every_response_matches_the_contract(
    http: aiohttp.ClientSession,
    magento: Magento,
    auth: dict[str, str],
    contract: Callable[[str], jsonschema.Draft4Validator],
) -> None:
    search_result = contract("sales-data-order-search-result-interface")
    order = contract("sales-data-order-interface")
    error = contract("error-response")
    requests: list[tuple[str, Mapping[str, str], Mapping[str, str]]] = [
        ("/orders", criteria(), auth),
        ("/orders", criteria([("status", "pending", "eq")], pageSize=1, currentPage=5), auth),
        (
            "/orders",
            criteria([("updated_at", "2026-11-23 10:00:00", "gteq")], sort=[("updated_at", "DESC")]),
            auth,
        ),
        ("/orders", criteria([("status", "none", "eq")]), auth),
        ("/orders", criteria([("status", "x", "bogus")]), auth),
        ("/orders", {}, auth),
        ("/orders", criteria(), {}),
        *((f"/orders/{entity_id}", {}, auth) for entity_id, *_ in ORDERS),
        ("/orders/404", {}, auth),
        ("/orders/1", {}, {"Authorization": "Bearer nope"}),
    ]
    statuses = set()
    for path, params, headers in requests:
        async with http.get(magento.api + path, params=params, headers=headers) as resp:
            body = await resp.json()
            statuses.add(resp.status)
        if resp.status != 200:
            error.validate(body)
        elif path == "/orders":
            search_result.validate(body)
        else:
            order.validate(body)
    assert statuses == {200, 400, 401, 404}
    magento.faults.update({"error_rate": 1.0})
    async with http.get(magento.api + "/orders/1", headers=auth) as resp:
        assert resp.status == 503
        error.validate(await resp.json())


# --- the index agrees with a full scan -------------------------------------------------------------------


def test_indexed_search_agrees_with_a_full_scan() -> None:
    rng = random.Random(7)
    state = MagentoState()
    stamps = [f"2026-11-{d:02d} {h:02d}:00:00" for d in (1, 2, 3) for h in (0, 6, 12, 18)]
    for n in range(1, 301):
        updated = rng.choice(stamps)
        state.add_order(
            {"entity_id": n, "increment_id": f"{n:09d}", "created_at": min(updated, rng.choice(stamps)),
             "updated_at": updated, "status": rng.choice(["pending", "complete"]), "grand_total": D(n)}
        )  # fmt: skip
    for n in range(1, 301, 7):  # moves orders within the index
        state.update_order(n, {"status": "processing"}, rng.choice(stamps))
    for _ in range(300):
        field = rng.choice(["updated_at", "created_at"])
        groups = [
            [(field, rng.choice(stamps), rng.choice(["gt", "gteq", "lt", "lteq", "eq", "from", "to"]))]
            for _ in range(rng.randint(1, 2))
        ]
        if rng.random() < 0.5:
            groups.append([("status", rng.choice(["pending", "processing"]), "eq")])
        sort = rng.choice([[], [(field, "ASC")], [(field, "DESC")], [("grand_total", "DESC")]])
        size, page = rng.choice([(None, None), (7, rng.randint(1, 50))])
        paging: dict[str, Any] = {} if size is None else {"pageSize": size, "currentPage": page}
        indexed = parse_search_criteria(criteria(*groups, sort=sort, **paging).items())
        # an impossible second filter in each group forbids the index without changing the result
        scanned_groups = [[*g, ("entity_id", "-1", "eq")] for g in groups]
        scanned = parse_search_criteria(criteria(*scanned_groups, sort=sort, **paging).items())
        assert state.search(indexed) == state.search(scanned), (groups, sort, paging)


def _optional(node: Any) -> Any:
    """A `fields`-filtered response leaves out whatever was not asked for: drop `required`, keep types."""
    if isinstance(node, dict):
        return {key: _optional(value) for key, value in node.items() if key != "required"}
    if isinstance(node, list):
        return [_optional(value) for value in node]
    return node


async def test_the_fields_filtered_page_trueup_asks_for_matches_the_contract_types(
    http: aiohttp.ClientSession, magento: Magento, auth: dict[str, str]
) -> None:
    from trueup.connectors.magento.client import ORDER_FIELDS
    from trueup.sandbox.magento_fields import parse_fields

    definitions = _optional(_nullable(json.loads(CONTRACT.read_text())["definitions"]))
    schema = {"$ref": "#/definitions/sales-data-order-search-result-interface", "definitions": definitions}
    params = {**criteria(), "fields": ORDER_FIELDS}
    async with http.get(magento.api + "/orders", params=params, headers=auth) as resp:
        assert resp.status == 200
        body = await resp.json()
    jsonschema.Draft4Validator(schema).validate(body)
    assert set(body) == {"items", "total_count"} and body["items"]
    first = body["items"][0]
    assert "base_grand_total" not in first and {"increment_id", "grand_total", "items"} <= set(first)
    line_fields = parse_fields(ORDER_FIELDS)["items"]["items"]  # type: ignore[index]
    assert set(first["items"][0]) <= set(line_fields)
