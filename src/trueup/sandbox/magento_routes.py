"""What the sandbox's invoice, shipment and credit memo routes share: the two REST prefixes, one state per
order state, Magento's error bodies and the reading of an order id and a JSON body."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
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
