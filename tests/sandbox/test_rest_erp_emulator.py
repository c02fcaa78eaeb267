"""The generic REST ERP emulator over real HTTP, against `docs/connectors/rest-erp.md`: posting,
idempotency (409, or a duplicate with `enforce_unique` off), field limits, money rules, item paging, lookup
and faults."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from starlette.types import ASGIApp

from trueup.sandbox.faults import Faults
from trueup.sandbox.rest_erp import RestErpState, create_app


@dataclass
class Erp:
    state: RestErpState
    faults: Faults
    root: str  # http://127.0.0.1:port
    api: str  # root + /api/v1


def make_erp(serve: Callable[[ASGIApp], str], token: str, *, enforce_unique: bool = True) -> Erp:
    state = RestErpState(enforce_unique=enforce_unique)
    state.add_item("IT-000123", "WS12-M-Orange", barcode="5012345678900", name="Radiant Tee M Orange",
                   updated_at="2026-11-23T08:00:00Z")  # fmt: skip
    state.add_item("IT-000124", "WS12-L-Orange", name="Radiant Tee L Orange", active=False,
                   updated_at="2026-11-23T08:05:00Z")  # fmt: skip
    faults = Faults()
    root = serve(create_app(state, token=token, faults=faults))
    return Erp(state, faults, root, root + "/api/v1")


@pytest.fixture
def erp(serve: Callable[[ASGIApp], str], token: str) -> Erp:
    return make_erp(serve, token)


def address() -> dict[str, Any]:
    return {"name": "Ann Smith", "company": "", "lines": ["Flat 2", "10 High Street"], "city": "Leeds",
            "region": "", "postcode": "LS1 4AP", "country": "GB", "phone": "0113 496 0000",
            "email": "a@example.co.uk"}  # fmt: skip


def sales_order(external_id: str = "000000123") -> dict[str, Any]:
    """The example body of the contract doc."""
    return {
        "external_id": external_id,
        "order_date": "2026-11-23T09:14:03Z",
        "currency": "GBP",
        "customer": {"email": "a@example.co.uk", "name": "Ann Smith"},
        "bill_to": address(),
        "ship_to": address(),
        "carrier": "RM",
        "service": "TRACKED48",
        "lines": [{"line_no": 1, "item_id": "IT-000123", "sku": "WS12-M-Orange", "description": "Radiant Tee",
                   "qty": "1", "unit_price": "18.33", "net": "18.33", "discount": "0.00", "tax": "3.67",
                   "tax_rate": "20.00", "gross": "22.00"}],
        "shipping": {"net": "4.17", "tax": "0.83"},
        "discount_total": "0.00",
        "tax_total": "4.50",
        "grand_total": "27.00",
        "payment": {"method": "checkmo", "reference": ""},
        "tax_mode": "storefront",
    }  # fmt: skip


async def post(
    http: aiohttp.ClientSession, erp: Erp, auth: dict[str, str], body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    headers = {**auth, "Idempotency-Key": str(body.get("external_id"))}
    async with http.post(erp.api + "/sales-orders", json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def admin(http: aiohttp.ClientSession, erp: Erp) -> dict[str, Any]:
    async with http.get(erp.root + "/_sandbox/sales-orders") as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


# --- posting ---------------------------------------------------------------------------------------------


async def test_create_is_201_with_sequential_ids(
    http: aiohttp.ClientSession, erp: Erp, auth: dict[str, str]
) -> None:
    assert await post(http, erp, auth, sales_order("000000123")) == (
        201,
        {"sales_order_id": "SO-000001", "external_id": "000000123", "status": "open"},
    )
    status, body = await post(http, erp, auth, sales_order("000000124"))
    assert (status, body["sales_order_id"]) == (201, "SO-000002")
    stored = erp.state.sales_orders["SO-000001"]
    assert stored["grand_total"] == "27.00" and stored["status"] == "open"
    assert erp.state.idempotency_keys["SO-000001"] == "000000123"


async def test_duplicate_is_409_with_the_existing_id(
    http: aiohttp.ClientSession, erp: Erp, auth: dict[str, str]
) -> None:
    await post(http, erp, auth, sales_order())
    status, body = await post(http, erp, auth, sales_order())
    assert status == 409
    assert body["error"] == "duplicate_external_id"
    assert body["sales_order_id"] == "SO-000001"
    assert (await admin(http, erp))["count"] == 1


async def test_without_enforce_unique_a_duplicate_is_accepted(
    http: aiohttp.ClientSession, serve: Callable[[ASGIApp], str], token: str, auth: dict[str, str]
) -> None:
    erp = make_erp(serve, token, enforce_unique=False)
    assert (await post(http, erp, auth, sales_order()))[0] == 201
    status, body = await post(http, erp, auth, sales_order())
    assert (status, body["sales_order_id"]) == (201, "SO-000002")
    listing = await admin(http, erp)
    assert listing["count"] == 2
    assert listing["by_external_id"] == {"000000123": 2}
    assert [o["sales_order_id"] for o in listing["sales_orders"]] == ["SO-000001", "SO-000002"]


async def test_address_line_over_35_characters_is_422_naming_the_field(
    http: aiohttp.ClientSession, erp: Erp, auth: dict[str, str]
) -> None:
    body = sales_order()
    body["ship_to"]["lines"][0] = "x" * 36
    status, error = await post(http, erp, auth, body)
    assert status == 422
    assert error["error"] == "validation"
    assert error["field"] == "ship_to.lines[0]"
    assert "36" in error["message"] and "35" in error["message"]
    body["ship_to"]["lines"][0] = "x" * 35
    assert (await post(http, erp, auth, body))[0] == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda o: o["bill_to"].update(lines=["a", "b", "c", "d"]), "bill_to.lines"),
        (lambda o: o["ship_to"].update(name="n" * 61), "ship_to.name"),
        (lambda o: o["ship_to"].update(city="c" * 36), "ship_to.city"),
        (lambda o: o["ship_to"].update(postcode="p" * 11), "ship_to.postcode"),
        (lambda o: o["bill_to"].update(phone="1" * 21), "bill_to.phone"),
        (lambda o: o["customer"].update(email="e" * 101), "customer.email"),
        (lambda o: o.update(currency="JPY"), "currency"),
        (lambda o: o["lines"][0].update(gross="22.05"), "lines[0].gross"),
        (lambda o: o["lines"][0].update(net="18.333"), "lines[0].net"),
        (lambda o: o["lines"][0].update(qty="0"), "lines[0].qty"),
        (lambda o: o.update(lines=[]), "lines"),
        (lambda o: o["shipping"].pop("tax"), "shipping.tax"),
    ],
)
async def test_limits_and_money_rules_are_422(
    http: aiohttp.ClientSession, erp: Erp, auth: dict[str, str], change: Callable[[Any], Any], field: str
) -> None:
    body = sales_order()
    change(body)
    status, error = await post(http, erp, auth, body)
    assert (status, error["error"], error["field"]) == (422, "validation", field)
    assert erp.state.sales_orders == {}


async def test_unknown_or_inactive_item_is_422(
    http: aiohttp.ClientSession, erp: Erp, auth: dict[str, str]
) -> None:
    for item_id, word in (("IT-999999", "unknown"), ("IT-000124", "inactive")):
        body = sales_order()
        body["lines"].append({**copy.deepcopy(body["lines"][0]), "line_no": 2, "item_id": item_id})
        status, error = await post(http, erp, auth, body)
        assert (status, error["field"]) == (422, "lines[1].item_id")
        assert word in error["message"]


async def test_money_as_a_json_number_is_422(
    http: aiohttp.ClientSession, erp: Erp, auth: dict[str, str]
) -> None:
    for path in (("grand_total",), ("lines", 0, "unit_price"), ("shipping", "net")):
        body: Any = sales_order()
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = 27.0 if path[-1] == "grand_total" else 18
        status, error = await post(http, erp, auth, body)
        assert status == 422
        assert error["field"] == ".".join(str(p) for p in path).replace(".0.", "[0].")


async def test_bad_json_is_400(http: aiohttp.ClientSession, erp: Erp, auth: dict[str, str]) -> None:
    async with http.post(erp.api + "/sales-orders", data=b"{nope", headers=auth) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "bad_request"


# --- reading ---------------------------------------------------------------------------------------------


async def test_lookup_by_external_id(http: aiohttp.ClientSession, erp: Erp, auth: dict[str, str]) -> None:
    await post(http, erp, auth, sales_order("A-1"))
    await post(http, erp, auth, sales_order("A-2"))
    async with http.get(erp.api + "/sales-orders", params={"external_id": "A-2"}, headers=auth) as resp:
        body = await resp.json()
    assert resp.status == 200
    [found] = body["sales_orders"]
    assert found == {**sales_order("A-2"), "sales_order_id": "SO-000002", "status": "open"}
    async with http.get(erp.api + "/sales-orders", params={"external_id": "none"}, headers=auth) as resp:
        assert await resp.json() == {"sales_orders": []}


async def test_items_paging_and_updated_since(
    http: aiohttp.ClientSession, erp: Erp, auth: dict[str, str]
) -> None:
    rows = [
        {"item_id": f"IT-{n:06d}", "sku": f"SKU-{n}", "updated_at": f"2026-11-24T{n:02d}:00:00Z"}
        for n in range(1, 6)
    ]
    async with http.post(erp.root + "/_sandbox/items", json={"items": rows}) as resp:
        assert await resp.json() == {"added": 5, "total": 7}
    pages: list[list[str]] = []
    page = 1
    while True:
        params = {"page": str(page), "per_page": "3"}
        async with http.get(erp.api + "/items", params=params, headers=auth) as resp:
            body = await resp.json()
        assert (body["page"], body["per_page"], body["total"]) == (page, 3, 7)
        pages.append([item["item_id"] for item in body["items"]])
        if page * 3 >= body["total"]:
            break
        page += 1
    assert pages == [
        ["IT-000123", "IT-000124", "IT-000001"],
        ["IT-000002", "IT-000003", "IT-000004"],
        ["IT-000005"],
    ]
    first = body["items"][0]
    assert set(first) == {"item_id", "sku", "barcode", "name", "active", "updated_at"}
    params = {"updated_since": "2026-11-24T03:00:00+00:00"}
    async with http.get(erp.api + "/items", params=params, headers=auth) as resp:
        body = await resp.json()
    assert [item["item_id"] for item in body["items"]] == ["IT-000003", "IT-000004", "IT-000005"]
    assert body["total"] == 3
    for bad in ({"per_page": "1001"}, {"page": "0"}, {"updated_since": "yesterday"}):
        async with http.get(erp.api + "/items", params=bad, headers=auth) as resp:
            assert resp.status == 400


async def test_missing_or_wrong_token_is_401(http: aiohttp.ClientSession, erp: Erp) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        async with http.get(erp.api + "/items", headers=headers) as resp:
            assert resp.status == 401
            body = await resp.json()
            assert body["error"] == "unauthorized" and body["message"]
        async with http.post(erp.api + "/sales-orders", json=sales_order(), headers=headers) as resp:
            assert resp.status == 401
    assert erp.state.sales_orders == {}


# --- faults ----------------------------------------------------------------------------------------------


async def test_error_after_commit_stores_the_order_but_answers_502(
    http: aiohttp.ClientSession, erp: Erp, auth: dict[str, str]
) -> None:
    async with http.post(erp.root + "/_sandbox/faults", json={"error_after_commit_rate": 1.0}) as resp:
        assert resp.status == 200
    status, body = await post(http, erp, auth, sales_order())
    assert status == 502
    assert set(body) == {"error", "message"}
    assert (await admin(http, erp))["by_external_id"] == {"000000123": 1}
    erp.faults.clear()
    status, body = await post(http, erp, auth, sales_order())  # the retry finds it already there
    assert (status, body["sales_order_id"]) == (409, "SO-000001")
    async with http.get(erp.root + "/_sandbox/stats") as resp:
        assert await resp.json() == {
            "requests": 2,
            "faults": {
                "503": 0,
                "429": 0,
                "502_after_commit": 1,
                "slow": 0,
                "maintenance": 0,
                "truncated": 0,
            },
        }


async def test_503_and_429_have_rest_erp_bodies(
    http: aiohttp.ClientSession, erp: Erp, auth: dict[str, str]
) -> None:
    erp.faults.update({"error_rate": 1.0})
    status, body = await post(http, erp, auth, sales_order())
    assert status == 503 and set(body) == {"error", "message"}
    assert erp.state.sales_orders == {}
    erp.faults.update({"error_rate": 0.0, "rate_limit_rate": 1.0, "retry_after": 3})
    async with http.get(erp.api + "/items", headers=auth) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "3"
        assert (await resp.json())["error"] == "rate_limited"


async def test_fault_rates_are_reproducible_from_the_seed(
    http: aiohttp.ClientSession, erp: Erp, auth: dict[str, str]
) -> None:
    async def statuses() -> list[int]:
        out = []
        for _ in range(40):
            async with http.get(erp.api + "/items", headers=auth) as resp:
                out.append(resp.status)
        return out

    settings = {"error_rate": 0.3, "rate_limit_rate": 0.2, "slow_rate": 0.5, "latency_ms": 0, "seed": 42}
    erp.faults.update(settings)
    first = await statuses()
    erp.faults.update(settings)
    assert await statuses() == first
    assert {200, 429, 503} <= set(first)
