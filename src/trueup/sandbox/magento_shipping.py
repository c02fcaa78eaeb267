"""Shipments in the Magento emulator: `POST /V1/order/{id}/ship`, `GET /V1/shipments`, `GET /V1/shipment/{id}`
and `POST /V1/shipment/track`, in the shapes of the vendored 2.4.8 schema.

It behaves as Magento's ShipOrder does (contracts/magento/README.md): a requested quantity is clamped to what
is left to ship; nothing left to ship, a closed order, or a configurable's child named instead of its parent
answer Magento's own 400 "Shipment Document Validation Error(s)"; a configurable ships by its parent line and
the child's `qty_shipped` stays 0; an order whose every line is shipped becomes `complete`. `ship_by_hand` is
a person creating a shipment in the admin, which is how a manual shipment reaches the scenario.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trueup.sandbox.magento import (
    NOT_FOUND,
    Filter,
    MagentoState,
    SearchCriteria,
    SearchCriteriaError,
)
from trueup.sandbox.magento_routes import (
    DECODING_ERROR,
    Paths,
    criteria_error,
    error,
    order_and_body,
    per_state,
    under_rest,
)

TIME = "%Y-%m-%d %H:%M:%S"
NOT_ALLOWED = (
    "Shipment Document Validation Error(s):\nThe order does not allow a shipment to be created.\n"
    "You can't create a shipment without products."
)
CLOSED_STATES = frozenset({"canceled", "closed", "holded", "complete"})
SHIPMENT_COLUMNS = frozenset(
    {"entity_id", "increment_id", "order_id", "created_at", "updated_at", "store_id", "total_qty"}
)


class ShipRefused(ValueError):
    """Magento's 400 answer to a shipment it will not create."""


def _now() -> str:
    return datetime.now(UTC).strftime(TIME)


def shippable(item: Mapping[str, Any], items: Mapping[int, Mapping[str, Any]]) -> bool:
    """Whether Magento ships this line itself: a configurable ships by its parent, never its child; a
    bundle here ships its children (shipment type "separately"), so the bundle parent carries no quantity."""
    parent = items.get(int(item["parent_item_id"])) if item.get("parent_item_id") else None
    if parent is not None and parent.get("product_type") == "configurable":
        return False
    return item.get("product_type") != "bundle"


class ShippingState:
    """The shipments of one `MagentoState`. Changes orders only through `MagentoState.update_order`."""

    def __init__(self, orders: MagentoState) -> None:
        self.orders = orders
        self.shipments: dict[int, dict[str, Any]] = {}
        self.by_order: dict[int, list[int]] = {}  # sales_shipment's index on order_id
        self._next_track = 1
        self.ship_calls = 0  # every POST .../ship, accepted or not (duplicates show up as extra calls)

    def _items(self, order: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
        return {int(i["item_id"]): i for i in order["items"]}

    def ship(
        self,
        entity_id: int,
        items: Sequence[Mapping[str, Any]] = (),
        tracks: Sequence[Mapping[str, Any]] = (),
        *,
        comment: str = "",
        source_code: str = "default",
    ) -> int:
        """Create a shipment as ShipOrder does; raises `KeyError` (no such order) or `ShipRefused`."""
        order = self.orders.get(entity_id)
        if order is None:
            raise KeyError(entity_id)
        lines = self._items(order)
        if order.get("state") in CLOSED_STATES:
            raise ShipRefused(NOT_ALLOWED)
        wanted: dict[int, Decimal] = {}
        requested = items or [
            {"order_item_id": i, "qty": ln["qty_ordered"]} for i, ln in lines.items() if shippable(ln, lines)
        ]
        for entry in requested:
            item_id = int(entry["order_item_id"])
            line = lines.get(item_id)
            if line is None or not shippable(line, lines):
                raise ShipRefused(NOT_ALLOWED)
            left = line["qty_ordered"] - line["qty_shipped"] - line["qty_canceled"]
            qty = min(Decimal(str(entry.get("qty", 0))), left)  # clamped, as Magento does
            if qty > 0:
                wanted[item_id] = wanted.get(item_id, Decimal(0)) + qty
        if not wanted:
            raise ShipRefused(NOT_ALLOWED)
        now = _now()
        shipment_id = len(self.shipments) + 1
        new_items: list[dict[str, Any]] = []
        for item_id, qty in wanted.items():
            line = dict(lines[item_id])
            line["qty_shipped"] = line["qty_shipped"] + qty
            lines[item_id] = line
            new_items.append(
                {
                    "entity_id": shipment_id * 100 + len(new_items) + 1,
                    "parent_id": shipment_id,
                    "order_item_id": item_id,
                    "sku": line["sku"],
                    "name": line.get("name"),
                    "product_id": line.get("product_id"),
                    "price": line.get("price", Decimal(0)),
                    "weight": line.get("weight", Decimal(0)),
                    "qty": qty,
                }
            )
        shipment: dict[str, Any] = {
            "entity_id": shipment_id,
            "increment_id": f"{shipment_id:09d}",
            "order_id": entity_id,
            "store_id": order.get("store_id", 1),
            "customer_id": order.get("customer_id"),
            "billing_address_id": order.get("billing_address_id"),
            "shipping_address_id": order.get("billing_address_id"),
            "total_qty": sum(wanted.values(), Decimal(0)),
            "email_sent": None,
            "created_at": now,
            "updated_at": now,
            "packages": [],
            "items": new_items,
            "tracks": [],
            "comments": [],
            "extension_attributes": {"source_code": source_code},
        }
        if comment:
            shipment["comments"].append(
                {
                    "entity_id": shipment_id,
                    "parent_id": shipment_id,
                    "comment": comment,
                    "is_customer_notified": 0,
                    "is_visible_on_front": 0,
                    "created_at": now,
                }
            )
        self.shipments[shipment_id] = shipment
        self.by_order.setdefault(entity_id, []).append(shipment_id)
        for track in tracks:
            self.add_track(shipment_id, track)
        all_shipped = all(
            ln["qty_shipped"] + ln["qty_canceled"] >= ln["qty_ordered"]
            for ln in lines.values()
            if shippable(ln, lines)
        )
        changes: dict[str, Any] = {"items": list(lines.values())}
        if all_shipped:
            changes.update(state="complete", status="complete")
        self.orders.update_order(entity_id, changes, now)
        from trueup.sandbox.magento_msi import on_ship

        on_ship(self.orders, order, wanted, source_code)  # MSI: source deducted, reservation compensated
        return shipment_id

    def add_track(self, shipment_id: int, track: Mapping[str, Any]) -> dict[str, Any]:
        shipment = self.shipments[shipment_id]
        now = _now()
        entity = {
            "entity_id": self._next_track,
            "parent_id": shipment_id,
            "order_id": shipment["order_id"],
            "track_number": str(track.get("track_number", "")),
            "title": str(track.get("title", "")),
            "carrier_code": str(track.get("carrier_code", "")),
            "description": track.get("description"),
            "weight": track.get("weight"),
            "qty": track.get("qty"),
            "created_at": now,
            "updated_at": now,
        }
        self._next_track += 1
        shipment["tracks"].append(entity)
        shipment["updated_at"] = now
        return entity

    def ship_by_hand(
        self, increment_id: str, lines: Iterable[tuple[str, int]] = (), tracking: str = ""
    ) -> int:
        """A person ships (part of) an order in the admin: by SKU (a configurable by its child's SKU), or
        everything left when `lines` is empty; with a tracking number only if they typed one in."""
        order = next(o for o in self.orders if o["increment_id"] == increment_id)
        by_id = self._items(order)
        items = []
        for sku, qty in lines:
            item = next(i for i in order["items"] if i["sku"] == sku)
            parent = by_id.get(int(item["parent_item_id"])) if item.get("parent_item_id") else None
            target = parent if parent is not None and parent["product_type"] == "configurable" else item
            items.append({"order_item_id": target["item_id"], "qty": qty})
        tracks = (
            [{"track_number": tracking, "title": "Royal Mail", "carrier_code": "custom"}] if tracking else []
        )
        return self.ship(int(order["entity_id"]), items, tracks)

    def search(self, criteria: SearchCriteria) -> tuple[list[dict[str, Any]], int]:
        candidates: Iterable[dict[str, Any]] = self.shipments.values()
        for group in criteria.filter_groups:
            if len(group) == 1 and group[0].field == "order_id" and group[0].condition_type == "eq":
                order_id = int(group[0].number) if group[0].number is not None else 0
                candidates = [self.shipments[i] for i in self.by_order.get(order_id, [])]
        found = [
            s
            for s in candidates
            if all(any(f.matches(s.get(f.field)) for f in group) for group in criteria.filter_groups)
        ]
        total = len(found)
        size = criteria.page_size or total or 1
        page = max(criteria.current_page or 1, 1)
        return found[(page - 1) * size : page * size], total


shipping_of = per_state(ShippingState)  # the one ShippingState of an order state


_FILTER = re.compile(
    r"searchCriteria\[(?:filter_groups|filterGroups)\]\[(\d+)\]\[filters\]\[(\d+)\]"
    r"\[(field|value|condition_type|conditionType)\]"
)
_PAGE = re.compile(r"searchCriteria\[(pageSize|page_size|currentPage|current_page)\]")


def parse_shipment_criteria(params: Iterable[tuple[str, str]]) -> SearchCriteria:
    """searchCriteria over the `sales_shipment` columns (filters and paging); raises `SearchCriteriaError`."""
    groups: dict[int, dict[int, dict[str, str]]] = {}
    paging: dict[str, int] = {}
    for key, value in params:
        if m := _FILTER.fullmatch(key):
            part = "condition_type" if m[3] == "conditionType" else m[3]
            groups.setdefault(int(m[1]), {}).setdefault(int(m[2]), {})[part] = value
        elif m := _PAGE.fullmatch(key):
            paging["size" if "ize" in m[1] else "page"] = int(value)
    filter_groups = []
    for _, group in sorted(groups.items()):
        filters = []
        for _, spec in sorted(group.items()):
            field = spec.get("field", "")
            if field not in SHIPMENT_COLUMNS:
                raise SearchCriteriaError(
                    'Invalid value of "%1" provided for the %2 field.', [field, "field"]
                )
            # Build on an order column with the same semantics, then name the shipment column.
            built = Filter.build("entity_id", spec.get("value"), spec.get("condition_type") or "eq")
            filters.append(replace(built, field=field))
        filter_groups.append(tuple(filters))
    return SearchCriteria(tuple(filter_groups), (), paging.get("size"), paging.get("page"))


def shipping_routes(
    state: MagentoState,
    refused: Callable[[Request], Response | None],
    respond: Callable[[int, Any], Response],
) -> list[Route]:
    """The shipment routes, under `/rest` and `/rest/{store_code}`, behind the app's credential check."""
    shipping = shipping_of(state)

    async def ship(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            entity_id, body = await order_and_body(request)
        except ValueError:
            return respond(400, DECODING_ERROR)
        shipping.ship_calls += 1
        arguments = (body.get("arguments") or {}).get("extension_attributes") or {}
        comment = (body.get("comment") or {}).get("comment") or ""
        try:
            shipment_id = shipping.ship(
                entity_id,
                body.get("items") or [],
                body.get("tracks") or [],
                comment=comment,
                source_code=arguments.get("source_code") or "default",
            )
        except KeyError:
            return respond(404, NOT_FOUND)
        except ShipRefused as exc:
            return respond(400, error(str(exc)))
        return respond(200, shipment_id)

    async def search(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            criteria = parse_shipment_criteria(request.query_params.multi_items())
        except ValueError as exc:
            return respond(400, criteria_error(exc))
        found, total = shipping.search(criteria)
        return respond(200, {"items": found, "search_criteria": criteria.echo(), "total_count": total})

    async def get_one(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            shipment = shipping.shipments.get(int(request.path_params["shipment_id"]))
        except ValueError:
            shipment = None
        return respond(200, shipment) if shipment is not None else respond(404, NOT_FOUND)

    async def track(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        entity = (await request.json()).get("entity") or {}
        try:
            parent = int(entity.get("parent_id") or 0)
        except (TypeError, ValueError):
            parent = 0
        if parent not in shipping.shipments:
            return respond(400, {"message": "Could not save the shipment tracking.", "parameters": []})
        return respond(200, shipping.add_track(parent, entity))

    paths: Paths = [
        ("/V1/order/{order_id}/ship", ship, "POST"),
        ("/V1/shipments", search, "GET"),
        ("/V1/shipment/track", track, "POST"),
        ("/V1/shipment/{shipment_id}", get_one, "GET"),
    ]
    return under_rest(paths)
