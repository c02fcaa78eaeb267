"""MSI in the Magento emulator over real HTTP: a placed order's reservation lowers the salable quantity; its
shipment deducts the source and compensates the reservation (salable unchanged); a cancel or a refund
before shipping compensates it (salable back up)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from starlette.types import ASGIApp

from trueup.sandbox.magento import MagentoState, create_app
from trueup.sandbox.magento_inventory import InventoryState
from trueup.sandbox.scenario import FaultMix, generate


def simple_lines(order: dict[str, Any]) -> dict[str, int]:
    return {str(i["sku"]): int(i["qty_ordered"]) for i in order["items"] if i["product_type"] == "simple"}


async def salable(http: aiohttp.ClientSession, base: str, auth: dict[str, str], sku: str) -> int:
    async with http.get(f"{base}/inventory/get-product-salable-quantity/{sku}/1", headers=auth) as resp:
        assert resp.status == 200
        return int(await resp.json())


async def test_salable_quantity_after_ship_cancel_and_refund(
    serve: Callable[[ASGIApp], str], http: aiohttp.ClientSession, auth: dict[str, str], token: str
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    scenario = generate(5, 40, start=now - timedelta(hours=2), end=now, faults=FaultMix.none())
    state = MagentoState(scenario.orders)
    inventory = InventoryState()
    live = [o for o in state if o.get("state") == "processing" and simple_lines(o)]
    configurable = next(
        o for o in live if any(i["product_type"] == "configurable" for i in o["items"])
    )  # ships by its parent line: the child's SKU is the one reserved
    plain = [
        o
        for o in live
        if o is not configurable
        and any(i["product_type"] == "simple" and not i.get("parent_item_id") for i in o["items"])
    ]
    shipped, cancelled, refunded = configurable, plain[0], plain[1]
    for order in (shipped, cancelled, refunded):
        for sku, qty in simple_lines(order).items():
            inventory.place_order(sku, qty, order=str(order["increment_id"]))
            inventory.items[(sku, "default")] = [100, 1]
    base = serve(create_app(state, token=token, inventory=inventory)) + "/rest/default/V1"

    async def salables(order: dict[str, Any]) -> dict[str, int]:
        return {sku: await salable(http, base, auth, sku) for sku in simple_lines(order)}

    # A shipment: the source drops by what shipped, the salable quantity does not move.
    before = await salables(shipped)
    async with http.post(f"{base}/order/{shipped['entity_id']}/ship", json={}, headers=auth) as resp:
        assert resp.status == 200
    assert await salables(shipped) == before
    for sku, qty in simple_lines(shipped).items():
        assert inventory.quantity(sku, "default") == 100 - qty
        held = [q for s, _, q, o in inventory.reservations if o == shipped["increment_id"] and s == sku]
        assert sum(held) == 0  # placed, then compensated by the shipment

    # A cancel before shipping: the reservation is released, the salable quantity comes back.
    before = await salables(cancelled)
    async with http.post(f"{base}/orders/{cancelled['entity_id']}/cancel", headers=auth) as resp:
        assert resp.status == 200 and await resp.json() is True
    after = await salables(cancelled)
    assert all(after[sku] == before[sku] + qty for sku, qty in simple_lines(cancelled).items())
    assert all(inventory.quantity(sku, "default") == 100 for sku in simple_lines(cancelled))

    # A refund before shipping (offline credit memo of one simple line): that line's reservation goes.
    line = next(i for i in refunded["items"] if i["product_type"] == "simple" and not i.get("parent_item_id"))
    sku, qty = str(line["sku"]), int(line["qty_ordered"])
    before_one = await salable(http, base, auth, sku)
    body = {"items": [{"order_item_id": line["item_id"], "qty": qty}], "arguments": {"shipping_amount": 0}}
    async with http.post(f"{base}/order/{refunded['entity_id']}/refund", json=body, headers=auth) as resp:
        assert resp.status == 200, await resp.text()
    assert await salable(http, base, auth, sku) == before_one + qty
