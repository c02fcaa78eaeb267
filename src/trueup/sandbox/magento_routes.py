"""What the sandbox's invoice, shipment and credit memo routes share: the two REST prefixes, one state per
order state, Magento's error bodies, the reading of an order id and a JSON body, and the checking of the
lines a document asks for."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.routing import Route

from trueup.sandbox.magento import MagentoState, SearchCriteriaError

S = TypeVar("S")
Paths = Sequence[tuple[str, Callable[[Request], Any], str]]

DECODING_ERROR = {"message": "Decoding error: invalid request", "parameters": []}


def error(message: str) -> dict[str, Any]:
    """A Magento error body."""
    return {"message": message, "parameters": []}


def criteria_error(exc: ValueError) -> dict[str, Any]:
    """The 400 body for searchCriteria that cannot be parsed."""
    return exc.body if isinstance(exc, SearchCriteriaError) else error(str(exc))


def under_rest(paths: Paths) -> list[Route]:
    """Each (path, endpoint, method) under `/rest` and `/rest/{store_code}`, as Magento serves them."""
    return [
        Route(prefix + path, endpoint, methods=[method])
        for prefix in ("/rest", "/rest/{store_code}")
        for path, endpoint, method in paths
    ]


def per_state(factory: Callable[[MagentoState], S]) -> Callable[[MagentoState], S]:
    """`of(state)`: the one S of an order state, made by `factory` on first use."""
    made: weakref.WeakKeyDictionary[MagentoState, S] = weakref.WeakKeyDictionary()

    def of(state: MagentoState) -> S:
        found = made.get(state)
        if found is None:
            found = made[state] = factory(state)
        return found

    return of


async def order_and_body(request: Request) -> tuple[int, Any]:
    """The path's order id and the JSON body; ValueError when either cannot be read."""
    return int(request.path_params["order_id"]), await request.json()


def requested_lines(
    requested: Iterable[Mapping[str, Any]],
    lines: Mapping[int, dict[str, Any]],
    counted: str,
    refused: Callable[[str], Exception],
    nothing: str,
    too_many: Callable[[str], str],
) -> Iterator[tuple[int, dict[str, Any], Decimal, Decimal]]:
    """Each requested (order item, qty) of an invoice or a credit memo, as Magento checks it: with its line
    and the units still open (`qty_ordered` less `counted` and `qty_canceled`). An unknown item refuses
    the document with `nothing`, more than is open refuses it naming the SKU, a line asked for 0 is left
    out. Lazily, so a caller that books each line as it goes sees the lines as booked so far."""
    for entry in requested:
        item_id = int(entry["order_item_id"])
        line = lines.get(item_id)
        qty = Decimal(str(entry.get("qty", 0)))
        if line is None:
            raise refused(nothing)
        left = line["qty_ordered"] - line[counted] - line["qty_canceled"]
        if qty <= 0:
            continue
        if qty > left:
            raise refused(too_many(str(line["sku"])))
        yield item_id, line, qty, left


def document_item(
    parent_id: int, number: int, item_id: int, line: Mapping[str, Any], qty: Decimal
) -> dict[str, Any]:
    """The fields an invoice item and a credit memo item share, for the `number`th item of document
    `parent_id`."""
    return {
        "entity_id": parent_id * 100 + number,
        "parent_id": parent_id,
        "order_item_id": item_id,
        "sku": line["sku"],
        "name": line.get("name"),
        "qty": qty,
        "price": line["price"],
        "base_price": line["price"],
        "base_cost": Decimal(0),
    }
