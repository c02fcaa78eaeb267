"""The Magento emulator ships as Magento does: by order item id, clamped to what is left, a configurable by
its parent line, Magento's own 400 when nothing is left, and every answer in the vendored schema's shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import jsonschema
import pytest
from starlette.types import ASGIApp
from tests.sandbox.test_magento_emulator import CONTRACT, _nullable

from trueup.sandbox.magento import MagentoState, create_app
from trueup.sandbox.magento_shipping import NOT_ALLOWED, shipping_of
from trueup.sandbox.scenario import FaultMix, generate


@pytest.fixture(scope="module")
def schema() -> Callable[[str], jsonschema.Draft4Validator]:
    definitions = _nullable(json.loads(CONTRACT.read_text())["definitions"])

    def validator(name: str) -> jsonschema.Draft4Validator:
        return jsonschema.Draft4Validator({"$ref": f"#/definitions/{name}", "definitions": definitions})

    return validator


def configurable_order(state: MagentoState) -> dict[str, Any]:
    """An order of the scenario with a configurable line (a parent with a child)."""
    for order in state:
        types = {i["product_type"] for i in order["items"] if not i.get("parent_item_id")}
        if "configurable" in types:
            return order
    raise AssertionError("the scenario has no configurable order")


async def test_ship_search_load_and_track_answer_in_the_schema_and_move_the_order(
    serve: Callable[[ASGIApp], str],
    http: aiohttp.ClientSession,
    auth: dict[str, str],
    token: str,
    schema: Callable[[str], jsonschema.Draft4Validator],
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    scenario = generate(3, 40, start=now - timedelta(hours=2), end=now, faults=FaultMix.none())
    state = MagentoState(scenario.orders)
    base = serve(create_app(state, token=token)) + "/rest/default/V1"
    order = configurable_order(state)
    entity_id = order["entity_id"]
    parent = next(i for i in order["items"] if i["product_type"] == "configurable")
    child = next(i for i in order["items"] if i.get("parent_item_id") == parent["item_id"])

    # Naming the configurable's child instead of its parent is refused, as Magento does.
    body = {"items": [{"order_item_id": child["item_id"], "qty": 1}]}
    async with http.post(f"{base}/order/{entity_id}/ship", json=body, headers=auth) as resp:
        assert resp.status == 400 and (await resp.json())["message"] == NOT_ALLOWED

    track = {"track_number": "TRK1", "title": "RM TRACKED48", "carrier_code": "custom"}
    body = {"items": [{"order_item_id": parent["item_id"], "qty": 99}], "tracks": [track], "notify": True}
    async with http.post(f"{base}/order/{entity_id}/ship", json=body, headers=auth) as resp:
        assert resp.status == 200
        shipment_id = await resp.json()
    assert isinstance(shipment_id, int)
    shipped = {i["item_id"]: i["qty_shipped"] for i in state.get(entity_id)["items"]}  # type: ignore[index]
    assert shipped[parent["item_id"]] == parent["qty_ordered"]  # clamped to what was left
    assert shipped[child["item_id"]] == Decimal(0)  # the child of a configurable stays 0 (magento2#26228)

    # Asking again for a line with nothing left: Magento's 400, and nothing changes.
    async with http.post(f"{base}/order/{entity_id}/ship", json=body, headers=auth) as resp:
        assert resp.status == 400
        schema("error-response").validate(await resp.json())
    assert len(shipping_of(state).shipments) == 1

    params = {
        "searchCriteria[filter_groups][0][filters][0][field]": "order_id",
        "searchCriteria[filter_groups][0][filters][0][value]": str(entity_id),
    }
    async with http.get(f"{base}/shipments", params=params, headers=auth) as resp:
        found = json.loads(await resp.read())
    schema("sales-data-shipment-search-result-interface").validate(found)
    assert found["total_count"] == 1 and found["items"][0]["tracks"][0]["track_number"] == "TRK1"

    entity = {"order_id": entity_id, "parent_id": shipment_id, "track_number": "TRK2", "title": "RM",
              "carrier_code": "custom", "weight": 0, "qty": 0, "description": ""}  # fmt: skip
    async with http.post(f"{base}/shipment/track", json={"entity": entity}, headers=auth) as resp:
        schema("sales-data-shipment-track-interface").validate(json.loads(await resp.read()))
    async with http.get(f"{base}/shipment/{shipment_id}", headers=auth) as resp:
        loaded = json.loads(await resp.read())
    schema("sales-data-shipment-interface").validate(loaded)
    assert [t["track_number"] for t in loaded["tracks"]] == ["TRK1", "TRK2"]

    # Shipping everything left completes the order.
    async with http.post(f"{base}/order/{entity_id}/ship", json={"notify": False}, headers=auth) as resp:
        assert resp.status in (200, 400)  # 400: the configurable was the order's only line
    final = state.get(entity_id)
    assert final is not None and final["state"] == final["status"] == "complete"
    async with http.get(f"{base}/shipment/999", headers=auth) as resp:
        assert resp.status == 404
