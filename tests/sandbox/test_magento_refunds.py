"""The Magento emulator refunds as Magento does: an offline credit memo by order item id, shipping and
adjustments, back-to-stock lines flagged, a search by filter groups and sort orders, Magento's 400 past what
is left to refund, and every request and answer in the vendored schema's shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import jsonschema
from starlette.types import ASGIApp
from tests.sandbox.test_magento_emulator import CONTRACT, REPO_ROOT, _nullable
from tests.sandbox.test_magento_shipping import schema  # noqa: F401  (the fixture)

from trueup.sandbox.magento import MagentoState, create_app
from trueup.sandbox.magento_refunds import refunds_of
from trueup.sandbox.scenario import FaultMix, generate

EXAMPLE = REPO_ROOT / "contracts" / "magento" / "examples" / "POST_V1_order_orderId_refund.request.json"


def body_schema(path: str) -> jsonschema.Draft4Validator:
    data = json.loads(CONTRACT.read_text())
    (param,) = [p for p in data["paths"][path]["post"]["parameters"] if p["in"] == "body"]
    return jsonschema.Draft4Validator({**param["schema"], "definitions": _nullable(data["definitions"])})


def money_lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    """The lines that carry money: not a bundle's parent, not a configurable's zero-priced child."""
    return [
        i
        for i in order["items"]
        if i["product_type"] != "bundle" and not (i.get("parent_item_id") and i["row_total_incl_tax"] == 0)
    ]


async def test_refund_search_and_load_answer_in_the_schema_and_move_the_order(
    serve: Callable[[ASGIApp], str],
    http: aiohttp.ClientSession,
    auth: dict[str, str],
    token: str,
    schema: Callable[[str], jsonschema.Draft4Validator],  # noqa: F811
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    scenario = generate(5, 30, start=now - timedelta(hours=2), end=now, faults=FaultMix.none())
    state = MagentoState(scenario.orders)
    base = serve(create_app(state, token=token)) + "/rest/default/V1"
    order = next(o for o in state if o["state"] == "processing" and len(money_lines(o)) > 1)
    first, second = money_lines(order)[:2]

    # Adobe's own sample body is valid against the contract; so is what the emulator is sent below.
    refund_body = body_schema("/V1/order/{orderId}/refund")
    refund_body.validate(json.loads(EXAMPLE.read_text()))
    body = {
        "items": [{"order_item_id": first["item_id"], "qty": 1}],
        "notify": False,
        "arguments": {
            "shipping_amount": 0,
            "adjustment_positive": 0,
            "adjustment_negative": 0,
            "extension_attributes": {"return_to_stock_items": [first["item_id"]]},
        },
    }
    refund_body.validate(body)
    async with http.post(f"{base}/order/{order['entity_id']}/refund", json=body, headers=auth) as resp:
        assert resp.status == 200
        memo_id = await resp.json()
    assert isinstance(memo_id, int)

    # Everything else, shipping included (no shipping_amount: the shipping left is refunded in full).
    rest = [{"order_item_id": first["item_id"], "qty": int(first["qty_ordered"]) - 1}]
    rest += [{"order_item_id": i["item_id"], "qty": int(i["qty_ordered"])} for i in money_lines(order)[1:]]
    rest = [r for r in rest if r["qty"] > 0]
    async with http.post(
        f"{base}/order/{order['entity_id']}/refund", json={"items": rest}, headers=auth
    ) as resp:
        assert resp.status == 200, await resp.text()
    closed = state.get(order["entity_id"])
    assert closed is not None and closed["state"] == "closed"

    # Nothing left to refund: Magento's 400 in its error shape, and nothing changes.
    again = {"items": [{"order_item_id": second["item_id"], "qty": 1}]}
    async with http.post(f"{base}/order/{order['entity_id']}/refund", json=again, headers=auth) as resp:
        assert resp.status == 400
        schema("error-response").validate(await resp.json())
    assert len(refunds_of(state).memos) == 2

    params = {
        "searchCriteria[filter_groups][0][filters][0][field]": "order_id",
        "searchCriteria[filter_groups][0][filters][0][value]": str(order["entity_id"]),
        "searchCriteria[filter_groups][1][filters][0][field]": "updated_at",
        "searchCriteria[filter_groups][1][filters][0][value]": "2000-01-01 00:00:00",
        "searchCriteria[filter_groups][1][filters][0][condition_type]": "gteq",
        "searchCriteria[sortOrders][0][field]": "entity_id",
        "searchCriteria[sortOrders][0][direction]": "DESC",
    }
    async with http.get(f"{base}/creditmemos", params=params, headers=auth) as resp:
        found = json.loads(await resp.read())
    schema("sales-data-creditmemo-search-result-interface").validate(found)
    assert [m["entity_id"] for m in found["items"]] == [2, 1] and found["total_count"] == 2
    one = found["items"][1]
    assert one["items"][0]["extension_attributes"] == {"back_to_stock": True}
    assert Decimal(str(one["grand_total"])) == Decimal(str(one["items"][0]["row_total_incl_tax"])) - Decimal(
        str(one["items"][0]["discount_amount"])
    )
    two = found["items"][0]
    assert Decimal(str(two["shipping_incl_tax"])) == Decimal(str(order["shipping_incl_tax"]))
    total = sum(Decimal(str(m["grand_total"])) for m in found["items"])
    assert total == Decimal(str(order["grand_total"]))  # refunded to the penny, shipping included

    async with http.get(f"{base}/creditmemo/{memo_id}", headers=auth) as resp:
        schema("sales-data-creditmemo-interface").validate(json.loads(await resp.read()))
    bad = {"searchCriteria[filter_groups][0][filters][0][field]": "customer_email"}
    async with http.get(f"{base}/creditmemos", params=bad, headers=auth) as resp:
        assert resp.status == 400
    async with http.post(f"{base}/invoice/999/refund", json={"items": []}, headers=auth) as resp:
        assert resp.status == 404


async def test_invoice_capture_and_cancel_answer_as_magento(
    serve: Callable[[ASGIApp], str],
    http: aiohttp.ClientSession,
    auth: dict[str, str],
    token: str,
    schema: Callable[[str], jsonschema.Draft4Validator],  # noqa: F811
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    scenario = generate(6, 20, start=now - timedelta(hours=2), end=now, faults=FaultMix.none())
    state = MagentoState(scenario.orders)
    base = serve(create_app(state, token=token)) + "/rest/default/V1"
    invoiced, cancelled = [o for o in state if o["state"] == "processing"][:2]
    body = {"capture": True, "notify": False}
    body_schema("/V1/order/{orderId}/invoice").validate(body)
    async with http.post(f"{base}/order/{invoiced['entity_id']}/invoice", json=body, headers=auth) as resp:
        assert resp.status == 200
        invoice_id = await resp.json()
    async with http.post(f"{base}/order/{invoiced['entity_id']}/invoice", json=body, headers=auth) as resp:
        assert resp.status == 400  # nothing left to invoice
        schema("error-response").validate(await resp.json())
    params = {
        "searchCriteria[filter_groups][0][filters][0][field]": "order_id",
        "searchCriteria[filter_groups][0][filters][0][value]": str(invoiced["entity_id"]),
    }
    async with http.get(f"{base}/invoices", params=params, headers=auth) as resp:
        found = json.loads(await resp.read())
    schema("sales-data-invoice-search-result-interface").validate(found)
    assert [i["entity_id"] for i in found["items"]] == [invoice_id] and found["items"][0]["state"] == 2
    # an invoiced order refunds through its invoice too
    line = money_lines(invoiced)[0]
    refund = {"items": [{"order_item_id": line["item_id"], "qty": 1}], "isOnline": False}
    body_schema("/V1/invoice/{invoiceId}/refund").validate(refund)
    async with http.post(f"{base}/invoice/{invoice_id}/refund", json=refund, headers=auth) as resp:
        assert resp.status == 200
    # cancel: true for an open order, false (not an error) for one fully invoiced
    async with http.post(f"{base}/orders/{cancelled['entity_id']}/cancel", headers=auth) as resp:
        assert resp.status == 200 and await resp.json() is True
    assert state.get(cancelled["entity_id"])["state"] == "canceled"  # type: ignore[index]
    async with http.post(f"{base}/orders/{invoiced['entity_id']}/cancel", headers=auth) as resp:
        assert resp.status == 200 and await resp.json() is False
