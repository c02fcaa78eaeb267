"""Stokly emulator: a plain Starlette app over `StoklyState`, and `StoklySandbox`, the `ErpSandbox` for it.

It speaks the wire of contracts/erps.md: `POST /v1/grant` checks the HMAC signature and issues expiring
bearer tokens; lists page with `page`/`size` (≤1000) and answer `{data, metadata:{count}}`; `filter` takes
`==`, `!=`, `&&`, `||` (and `>=`/`<=` on `{@date;…}`, ASSUMED); every call counts against a per-minute
window announced in `x-ratelimit-remaining`, and an exhausted window answers 429 with `Retry-After`.
The state is guarded by a lock, because tests act as the warehouse from their own thread.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import simplejson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trueup.sandbox.faults import Faults, FaultsMiddleware, fault_routes
from trueup.sandbox.serve import ServerThread
from trueup.sandbox.stokly_app import StoklyState, WireError, parse_iso

__all__ = ["StoklySandbox", "create_app", "stokly_error_body"]

MAX_PAGE_SIZE = 1000
Handler = Callable[[Request, Any], Response]


# --- filters: `[field]=={@string;X}&&[other]!={@null;}||...` ------------------------------------------------

_CONDITION = re.compile(
    r"\[(?P<field>[A-Za-z0-9_.]+)\](?P<op>==|!=|>=|<=)\{(?:@(?P<type>\w+);)?(?P<value>[^}]*)\}"
)
_JOIN = re.compile(r"&&|\|\|")


def parse_filter(text: str) -> list[list[tuple[str, str, Any]]]:
    """Alternatives (`||`) of conjunctions (`&&`) of conditions; `&&` binds tighter, with no brackets."""
    groups: list[list[tuple[str, str, Any]]] = [[]]
    pos = 0
    while True:
        match = _CONDITION.match(text, pos)
        if match is None:
            raise WireError(400, f"cannot parse filter at {text[pos : pos + 40]!r}", "filter")
        kind, raw = match["type"] or "string", match["value"]
        value: Any = None if kind == "null" else parse_iso(raw) if kind == "date" else raw
        groups[-1].append((match["field"], match["op"], value))
        pos = match.end()
        if pos == len(text):
            return groups
        join = _JOIN.match(text, pos)
        if join is None:
            raise WireError(400, f"expected && or || at {text[pos : pos + 40]!r}", "filter")
        if join.group() == "||":
            groups.append([])
        pos = join.end()


def _holds(row: Mapping[str, Any], name: str, op: str, value: Any) -> bool:
    have = row.get(name)
    if isinstance(value, datetime):
        if not isinstance(have, str):
            return False
        moment = parse_iso(have)
        if op in (">=", "<="):
            return moment >= value if op == ">=" else moment <= value
        return (moment == value) == (op == "==")
    have_text = None if have is None else str(have)
    if op in (">=", "<="):
        if have_text is None or value is None:
            return False
        return have_text >= str(value) if op == ">=" else have_text <= str(value)
    return (have_text == value) is (op == "==")


def matches(row: Mapping[str, Any], groups: list[list[tuple[str, str, Any]]]) -> bool:
    return any(all(_holds(row, *cond) for cond in group) for group in groups)


def stokly_error_body(status: int, message: str) -> dict[str, Any]:
    return {"status": status, "message": message}


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    data = simplejson.dumps(body, use_decimal=True, separators=(",", ":")).encode()
    return Response(data, status_code=status, media_type="application/json", headers=dict(headers or {}))


def _error(exc: WireError) -> Response:
    body: dict[str, Any] = stokly_error_body(exc.status, exc.message)
    if exc.field:
        body["field"] = exc.field
    return _json(exc.status, body)


def _reference_filter(where: str) -> str | None:
    """The reference when a filter is exactly `[sourceReferenceId]=={@string;X}`, else None."""
    groups = parse_filter(where) if where else []
    if len(groups) == 1 and len(groups[0]) == 1:
        field_name, op, value = groups[0][0]
        if field_name == "sourceReferenceId" and op == "==" and isinstance(value, str):
            return value
    return None


def _listing(request: Request, rows: Sequence[Mapping[str, Any]], id_field: str) -> Response:
    query = request.query_params
    try:
        page, size = int(query.get("page", "0")), int(query.get("size", "100"))
    except ValueError:
        raise WireError(400, "page and size must be whole numbers", "page") from None
    if page < 0 or not 1 <= size <= MAX_PAGE_SIZE:
        raise WireError(400, f"page must be 0 or more and size from 1 to {MAX_PAGE_SIZE}", "size")
    if where := query.get("filter"):
        groups = parse_filter(where)
        rows = [r for r in rows if matches(r, groups)]
    if sort := query.get("sortField"):
        rows = sorted(rows, key=lambda r: (str(r.get(sort) or ""), str(r.get(id_field))))
        if query.get("sortDirection", "ASC").upper() == "DESC":
            rows.reverse()
    return _json(200, {"data": list(rows[page * size : (page + 1) * size]), "metadata": {"count": len(rows)}})


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_float=Decimal) if raw else None
    except ValueError:
        raise WireError(400, "the body is not valid JSON") from None


def create_app(state: StoklyState, lock: threading.Lock, faults: Faults | None = None) -> Starlette:
    """Routes under `/v0`, `/v1`, `/v2` as Stokly versions them, plus the `/_sandbox/` fault endpoints."""

    def endpoint(handler: Handler, *, auth: bool = True) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            raw = await request.body()  # read before taking the lock: no await may happen under it
            with lock:
                remaining, reset = state.take_call()
                limit = {"x-ratelimit-remaining": str(max(remaining, 0))}
                if remaining < 0:
                    exc = WireError(429, "Rate limit exceeded for this minute.")
                    return _json(
                        429,
                        stokly_error_body(429, exc.message),
                        {**limit, "Retry-After": str(math.ceil(reset))},
                    )
                if auth and not state.authorised(request.headers.get("authorization", "")):
                    response = _error(WireError(401, "The access token is missing, invalid or expired."))
                else:
                    try:
                        response = handler(request, _parse(raw))
                    except WireError as exc:
                        response = _error(exc)
                    except (TypeError, AttributeError, KeyError, ValueError) as exc:
                        # A body of the wrong shape (a list where an object belongs, a bad date, ...).
                        response = _error(WireError(422, f"malformed request: {exc}"))
            response.headers.update(limit)
            return response

        return run

    def order_of(request: Request) -> dict[str, Any]:
        order = state.sale_orders.get(request.path_params["id"])
        if order is None:
            raise WireError(404, "sale order not found")
        return order

    def body_of(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise WireError(400, "the body must be a JSON object")
        return body

    def grant(request: Request, body: Any) -> Response:
        return _json(200, state.grant(body_of(body)))

    def items(request: Request, body: Any) -> Response:
        return _listing(request, list(state.items.values()), "itemId")

    def item(request: Request, body: Any) -> Response:
        found = state.items.get(request.path_params["id"])
        if found is None:
            raise WireError(404, "item not found")
        return _json(200, {"data": found})

    def records(request: Request, body: Any) -> Response:
        return _listing(request, state.inventory_records(), "itemId")

    def adjustments(request: Request, body: Any) -> Response:
        return _listing(request, state.adjustments, "adjustmentId")

    def adjust(request: Request, body: Any) -> Response:
        return _json(201, {"data": state.adjust(body_of(body))})

    def sale_orders(request: Request, body: Any) -> Response:
        rows = list(state.sale_orders.values())
        if (wanted := _reference_filter(request.query_params.get("filter", ""))) is not None:
            rows = state.find_orders(wanted)  # the common look-up, answered from the index
        return _listing(request, rows, "saleOrderId")

    def create_order(request: Request, body: Any) -> Response:
        return _json(201, {"data": state.create_sale_order(body_of(body))})

    def sale_order(request: Request, body: Any) -> Response:
        return _json(200, {"data": order_of(request)})

    def order_items(request: Request, body: Any) -> Response:
        return _listing(request, order_of(request)["items"], "lineId")

    def collect(request: Request, body: Any) -> Response:
        order = order_of(request)
        state.collect(order, body_of(body))
        return _json(200, {"data": order})

    def raise_invoice(request: Request, body: Any) -> Response:
        return _json(201, {"data": state.invoice(order_of(request), body_of(body))})

    def invoices(request: Request, body: Any) -> Response:
        return _listing(request, state.invoices, "invoiceId")

    def ship(request: Request, body: Any) -> Response:
        return _json(201, {"data": state.ship(order_of(request), body_of(body))})

    def shipments(request: Request, body: Any) -> Response:
        return _listing(request, state.shipments, "shipmentId")

    def refund(request: Request, body: Any) -> Response:
        return _json(201, {"data": state.refund(order_of(request), body_of(body))})

    def refunds(request: Request, body: Any) -> Response:
        return _listing(request, state.refunds, "refundId")

    faults = faults if faults is not None else Faults()
    routes = [
        Route("/v1/grant", endpoint(grant, auth=False), methods=["POST"]),
        Route("/v0/items", endpoint(items), methods=["GET"]),
        Route("/v0/items/{id}", endpoint(item), methods=["GET"]),
        Route("/v1/inventory-records", endpoint(records), methods=["GET"]),
        Route("/v1/adjustments", endpoint(adjustments), methods=["GET"]),
        Route("/v1/adjustments", endpoint(adjust), methods=["POST"]),
        Route("/v2/saleorders", endpoint(sale_orders), methods=["GET"]),
        Route("/v2/saleorders", endpoint(create_order), methods=["POST"]),
        Route("/v2/saleorders/{id}", endpoint(sale_order), methods=["GET"]),
        Route("/v2/saleorders/{id}/items", endpoint(order_items), methods=["GET"]),
        Route("/v2/saleorders/{id}/collect-items", endpoint(collect), methods=["POST"]),
        Route("/v2/saleorders/{id}/invoices", endpoint(raise_invoice), methods=["POST"]),
        Route("/v2/saleorders/{id}/shipments", endpoint(ship), methods=["POST"]),
        Route("/v2/saleorders/{id}/refunds", endpoint(refund), methods=["POST"]),
        Route("/v0/invoices", endpoint(invoices), methods=["GET"]),
        Route("/v2/shipments", endpoint(shipments), methods=["GET"]),
        Route("/v2/refunds", endpoint(refunds), methods=["GET"]),
        *fault_routes(faults),
    ]
    return Starlette(
        routes=routes, middleware=[Middleware(FaultsMiddleware, faults=faults, error_body=stokly_error_body)]
    )


class StoklySandbox:
    """A Stokly account on loopback, with one web location ("WEB") that the web channel allocates from."""

    kind = "stokly"
    secret_env = "SANDBOX_STOKLY_SECRET"

    def __init__(
        self,
        *,
        seed: int = 0,
        faults: Faults | None = None,
        enforce_unique: bool = True,
        token_lifetime: timedelta = timedelta(hours=1),
        rate_limit: int = 60_000,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.faults = faults or Faults(seed=seed)
        self.state = StoklyState(
            account_key=f"acct-{seed:04d}",
            client_id=f"trueup-{seed:04d}",
            secret=f"sandbox-signing-secret-{seed}",
            seed=seed,
            enforce_unique=enforce_unique,
            token_lifetime=token_lifetime,
            rate_limit=rate_limit,
            now=now,
        )
        self.lock = threading.Lock()
        self.location_id = self.state.location("WEB")
        self._server: ServerThread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Stokly sandbox is not started")
        return self._server.url

    def start(self) -> None:
        self._server = ServerThread(create_app(self.state, self.lock, self.faults))
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def erp_config(self) -> dict[str, Any]:
        return {
            "kind": "stokly",
            "name": "stokly",
            "base_url": self.url,
            "token_env": self.secret_env,
            "stokly": {
                "account_key": self.state.account_key,
                "client_id": self.state.client_id,
                "location_id": self.location_id,
                "currency": self.state.currency,
            },
        }

    def env(self) -> dict[str, str]:
        return {self.secret_env: self.state.secret}

    def load_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        with self.lock:
            for raw in items:
                item_id = str(raw.get("item_id") or self.state.new_id())
                self.state.items[item_id] = {
                    "itemId": item_id,
                    "sku": str(raw["sku"]),
                    "name": str(raw.get("name") or ""),
                    "format": "simple",
                    "status": "active" if raw.get("active", True) else "discontinued",
                    "barcodes": [str(raw["barcode"])] if raw.get("barcode") else [],
                    "salePrice": None,
                    "createdAt": self.state.now().isoformat(),
                }

    def set_stock(
        self, sku: str, location: str, *, on_hand: int, allocated: int = 0, quarantined: int = 0
    ) -> None:
        """A stock count on the location-level (UNASSIGNED) record. `allocated` is held as allocation made
        outside trueup's orders; open web orders add their own on top."""
        with self.lock:
            item = self.state.item_by_sku(sku)
            record = self.state.record(item["itemId"], self.state.location(location))
            record.update(onHand=on_hand, quarantined=quarantined, manualAllocated=allocated)

    def set_price(self, sku: str, currency: str, price: str) -> None:
        if currency != self.state.currency:
            raise ValueError(f"this Stokly account trades in {self.state.currency} only, not {currency}")
        with self.lock:
            self.state.item_by_sku(sku)["salePrice"] = Decimal(price)

    def despatch(
        self,
        external_id: str,
        *,
        carrier: str,
        service: str,
        tracking: str,
        lines: Sequence[tuple[str, int]] = (),
        closes_order: bool = False,
    ) -> str:
        """The warehouse collects the lines, records the shipment with its tracking, and invoices it;
        `closes_order`: it closes the order short (status "completed", ASSUMED)."""
        with self.lock:
            found = self.state.find_orders(external_id)
            if not found:
                raise KeyError(f"no Stokly sale order for {external_id!r}")
            order = found[-1]
            rows = self._lines_to_collect(order, lines)
            self.state.collect(order, {"locationId": order["locationId"], "items": rows})
            shipment = self.state.ship(
                order, {"carrier": carrier, "service": service, "trackingNumbers": [tracking], "items": rows}
            )
            self.state.invoice(order, {"items": rows})
            if closes_order:
                order["status"] = "completed"
            return str(shipment["shipmentId"])

    @staticmethod
    def _lines_to_collect(order: Mapping[str, Any], lines: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
        open_lines = [ln for ln in order["items"] if ln["collected"] < ln["quantity"]]
        if not lines:
            return [
                {"lineId": ln["lineId"], "quantity": ln["quantity"] - ln["collected"]} for ln in open_lines
            ]
        rows = []
        for sku, qty in lines:
            line = next((ln for ln in open_lines if ln["sku"] == sku), None)
            if line is None:
                raise KeyError(f"no open line for SKU {sku!r} on this sale order")
            rows.append({"lineId": line["lineId"], "quantity": qty})
        return rows

    def sales_order_counts(self) -> dict[str, int]:
        with self.lock:
            return dict(Counter(o["sourceReferenceId"] for o in self.state.sale_orders.values()))

    def credit_note_counts(self) -> dict[str, int]:
        with self.lock:
            return dict(Counter(r["referenceId"] for r in self.state.refunds))
