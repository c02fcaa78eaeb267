"""Magento as a `ShipmentSink`: read an order's shippable lines and shipments, ship, add tracking.

Confirmed from the vendored 2.4.8 schema: `POST /V1/order/{orderId}/ship` (items by `order_item_id`, `tracks`,
`notify`, `comment`, `arguments.extension_attributes.source_code`) answering the new shipment's id,
`GET /V1/shipments` with searchCriteria, `POST /V1/shipment/track` with an `entity`. From Magento's source
(contracts/magento/README.md): ship is not idempotent, a quantity is clamped to what is left, and nothing left
is a 400 "Shipment Document Validation Error(s)"; a configurable ships by its parent line.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trueup.connectors.magento.client import MagentoClient
from trueup.errors import Skippable, Unavailable
from trueup.model.exceptions import Reason
from trueup.model.money import to_minor
from trueup.model.shipments import (
    ShipLine,
    Shipment,
    ShipmentItem,
    ShipmentRequest,
    ShippableOrder,
    Track,
)

_ITEM = (
    "item_id,parent_item_id,sku,product_type,qty_ordered,qty_shipped,qty_canceled,row_total_incl_tax,"
    "discount_amount"
)
ORDER_FIELDS = (
    f"items[entity_id,increment_id,state,status,order_currency_code,grand_total,items[{_ITEM}]],total_count"
)


def _qty(value: Any) -> int:
    return int(Decimal(str(value or 0)))


def unit_minor(item: dict[str, Any]) -> int:
    """What one unit of the line cost the customer, tax included, after its discount, in minor units."""
    ordered = Decimal(str(item.get("qty_ordered") or 0))
    if ordered <= 0:
        return 0
    row = Decimal(str(item.get("row_total_incl_tax") or 0)) - Decimal(str(item.get("discount_amount") or 0))
    return to_minor(row / ordered)


def ship_lines(items: list[dict[str, Any]]) -> tuple[ShipLine, ...]:
    """The lines Magento ships by. A configurable ships by its parent line, named here by its child's SKU
    (what the ERP booked), and the child's own `qty_shipped` stays 0 (magento2#26228). A bundle ships its
    children (trueup books a bundle's children in the ERP, so a despatch names them): the parent is left
    out. Documented in docs/connectors/magento.md."""
    by_id = {str(i["item_id"]): i for i in items}
    child_sku: dict[str, str] = {}
    for item in items:
        parent = by_id.get(str(item.get("parent_item_id") or ""))
        if parent is not None and parent.get("product_type") == "configurable":
            child_sku.setdefault(str(parent["item_id"]), str(item["sku"]))
    lines = []
    for item in items:
        item_id = str(item["item_id"])
        parent = by_id.get(str(item.get("parent_item_id") or ""))
        if parent is not None and parent.get("product_type") == "configurable":
            continue
        if item.get("product_type") == "bundle":
            continue
        lines.append(
            ShipLine(
                line_id=item_id,
                sku=child_sku.get(item_id, str(item["sku"])),
                qty_ordered=_qty(item.get("qty_ordered")),
                qty_shipped=_qty(item.get("qty_shipped")),
                qty_cancelled=_qty(item.get("qty_canceled")),
                unit_minor=unit_minor(item),
            )
        )
    return tuple(lines)


def to_shipment(raw: dict[str, Any]) -> Shipment:
    return Shipment(
        shipment_id=str(raw["entity_id"]),
        items=tuple(
            ShipmentItem(line_id=str(i["order_item_id"]), qty=_qty(i.get("qty")))
            for i in raw.get("items") or []
        ),
        tracks=tuple(
            Track(
                number=str(t.get("track_number") or ""),
                carrier_code=str(t.get("carrier_code") or ""),
                title=str(t.get("title") or ""),
            )
            for t in raw.get("tracks") or []
        ),
        comments=tuple(str(c.get("comment") or "") for c in raw.get("comments") or []),
    )


def _eq(field: str, value: str) -> dict[str, str]:
    group = "searchCriteria[filter_groups][0][filters][0]"
    return {f"{group}[field]": field, f"{group}[value]": value, f"{group}[condition_type]": "eq"}


class MagentoShipments:
    def __init__(self, client: MagentoClient, *, name: str = "magento") -> None:
        self.http = client.http
        self.name = name

    async def shippable_order(self, order_id: str) -> ShippableOrder | None:
        """The order by its increment id, with its shipments (read only when something has shipped: a
        shipment always moves `qty_shipped`, so an order with none shipped has none)."""
        resp = await self.http.request(
            "GET", "/V1/orders", params={**_eq("increment_id", order_id), "fields": ORDER_FIELDS}
        )
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise Unavailable(f"Magento GET /V1/orders answered {resp.status}: {resp.body!r:.300}")
        found = resp.body.get("items") or []
        if not found:
            return None
        raw = found[0]
        order = ShippableOrder(
            order_id=str(raw["increment_id"]),
            entity_id=str(raw["entity_id"]),
            state=str(raw.get("state") or ""),
            status=str(raw.get("status") or ""),
            currency=str(raw.get("order_currency_code") or ""),
            grand_total_minor=to_minor(Decimal(str(raw.get("grand_total") or 0))),
            lines=ship_lines(list(raw.get("items") or [])),
        )
        if not order.shipped_any:
            return order
        return order.model_copy(update={"shipments": await self.shipments_of(order.entity_id)})

    async def shipments_of(self, entity_id: str) -> tuple[Shipment, ...]:
        resp = await self.http.request("GET", "/V1/shipments", params=_eq("order_id", entity_id))
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise Unavailable(f"Magento GET /V1/shipments answered {resp.status}: {resp.body!r:.300}")
        return tuple(to_shipment(s) for s in resp.body.get("items") or [])

    async def create_shipment(self, request: ShipmentRequest) -> str:
        """Ship; the new shipment's id. Magento's 400 (nothing left to ship, order closed) is Skippable
        `shipment_refused` with Magento's own words: the flow reads the order again before deciding."""
        body: dict[str, Any] = {
            "items": [{"order_item_id": int(i.line_id), "qty": i.qty} for i in request.items],
            "notify": request.notify,
            "appendComment": True,
            "comment": {"comment": request.comment, "is_visible_on_front": 0},
            "tracks": [
                {"track_number": t.number, "title": t.title, "carrier_code": t.carrier_code}
                for t in request.tracks
            ],
        }
        if request.source_code:
            body["arguments"] = {"extension_attributes": {"source_code": request.source_code}}
        path = f"/V1/order/{request.entity_id}/ship"
        resp = await self.http.request("POST", path, body=body)
        if resp.status == 200 and isinstance(resp.body, int | str) and str(resp.body).isdigit():
            return str(resp.body)  # the schema says an integer; Magento's code answers a JSON string
        message = resp.body.get("message") if isinstance(resp.body, dict) else resp.body
        raise Skippable(
            Reason.SHIPMENT_REFUSED, f"Magento POST {path} answered {resp.status}: {message!s:.300}."
        )

    async def add_track(self, entity_id: str, shipment_id: str, track: Track) -> None:
        entity = {
            "order_id": int(entity_id),
            "parent_id": int(shipment_id),
            "track_number": track.number,
            "title": track.title,
            "carrier_code": track.carrier_code,
            "weight": 0,
            "qty": 0,
            "description": "",
        }
        resp = await self.http.request("POST", "/V1/shipment/track", body={"entity": entity})
        if resp.status != 200:
            message = resp.body.get("message") if isinstance(resp.body, dict) else resp.body
            raise Skippable(
                Reason.SHIPMENT_REFUSED,
                f"Magento POST /V1/shipment/track for shipment {shipment_id} answered {resp.status}: "
                f"{message!s:.300}.",
            )
