"""Emulator of the generic REST ERP contract (`docs/connectors/rest-erp.md`), served under `/api/v1`.

It implements the contract exactly: bearer auth, item paging with `updated_since`, sales-order posting with
the documented field limits, money as two-decimal JSON strings, `409 duplicate_external_id` for a repeated
`external_id`, and lookup by `external_id`. With `enforce_unique=False` it accepts duplicates, like many
real ERPs, so that tests prove trueup never relies on the ERP for idempotency. Admin endpoints (no auth,
no faults): `GET /_sandbox/sales-orders` and `POST /_sandbox/items`, plus the fault endpoints.
"""

from __future__ import annotations

import hmac
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trueup.sandbox.faults import Faults, FaultsMiddleware, fault_routes
from trueup.sandbox.rest_erp_back_office import back_office_routes
from trueup.sandbox.wire import dumps

__all__ = [
    "BASE_PATH",
    "ErpLimits",
    "RestErpState",
    "ValidationError",
    "create_app",
    "format_timestamp",
    "rest_erp_error_body",
    "validate_sales_order",
]

BASE_PATH = "/api/v1"
MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 100
_TOLERANCE = Decimal("0.01")
_CENT = Decimal("0.01")


@dataclass
class ErpLimits:
    """Field limits the ERP declares (mirrored in trueup's `[erp.limits]`)."""

    address_line: int = 35
    address_lines: int = 3
    name: int = 60
    city: int = 35
    postcode: int = 10
    phone: int = 20
    email: int = 100


def format_timestamp(value: datetime | str) -> str:
    """An ISO 8601 timestamp normalised to UTC `YYYY-MM-DDTHH:MM:SSZ` (naive means UTC)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RestErpState:
    """The ERP's items and sales orders, in memory.

    `sales_orders` is keyed by sales_order_id (`SO-000001`, sequential); `by_external_id` maps an
    external_id to the ids of every sales order posted with it (more than one only when
    `enforce_unique` is off).
    """

    enforce_unique: bool = True
    limits: ErpLimits = field(default_factory=ErpLimits)
    currencies: set[str] = field(default_factory=lambda: {"GBP", "EUR", "USD"})
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    sales_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_external_id: dict[str, list[str]] = field(default_factory=dict)
    idempotency_keys: dict[str, str | None] = field(default_factory=dict)
    next_number: int = 1
    # the back office (see rest_erp_back_office.py): stock, prices, despatches, credit notes, ledger
    stock: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    prices: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    despatches: list[dict[str, Any]] = field(default_factory=list)
    credit_notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    credit_notes_by_external_id: dict[str, list[str]] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)

    def add_item(
        self,
        item_id: str,
        sku: str,
        *,
        barcode: str = "",
        name: str = "",
        active: bool = True,
        updated_at: datetime | str | None = None,
    ) -> dict[str, Any]:
        """Add or replace an item; updated_at defaults to now and is normalised to UTC ISO 8601."""
        item = {
            "item_id": item_id,
            "sku": sku,
            "barcode": barcode,
            "name": name,
            "active": active,
            "updated_at": format_timestamp(updated_at or datetime.now(UTC)),
        }
        self.items[item_id] = item
        return item

    def add_items(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Add many items given as dicts with the wire fields; returns how many were added."""
        count = 0
        for raw in items:
            self.add_item(
                str(raw["item_id"]),
                str(raw["sku"]),
                barcode=str(raw.get("barcode") or ""),
                name=str(raw.get("name") or ""),
                active=bool(raw.get("active", True)),
                updated_at=raw.get("updated_at"),
            )
            count += 1
        return count

    def find(self, external_id: str) -> list[dict[str, Any]]:
        """Every sales order posted with this external_id, oldest first."""
        return [self.sales_orders[i] for i in self.by_external_id.get(external_id, [])]

    def store_sales_order(
        self, body: Mapping[str, Any], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Store an already validated sales order and give it the next sales_order_id."""
        sales_order_id = f"SO-{self.next_number:06d}"
        self.next_number += 1
        record = {**body, "sales_order_id": sales_order_id, "status": "open"}
        self.sales_orders[sales_order_id] = record
        self.by_external_id.setdefault(str(body["external_id"]), []).append(sales_order_id)
        self.idempotency_keys[sales_order_id] = idempotency_key
        return record


# --- validation -----------------------------------------------------------------------------------------


class ValidationError(ValueError):
    """A 422: the JSON path of the offending field and a message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _object(parent: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> dict[str, Any]:
    value = parent.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(path, "must be an object")
    return value


def _text(
    parent: Mapping[str, Any], key: str, path: str, *, limit: int | None = None, required: bool = False
) -> str:
    value = parent.get(key)
    if value is None:
        if required:
            raise ValidationError(path, "is required")
        return ""
    if not isinstance(value, str):
        raise ValidationError(path, "must be a string")
    if required and not value.strip():
        raise ValidationError(path, "must not be empty")
    if limit is not None and len(value) > limit:
        raise ValidationError(path, f"is {len(value)} characters long; the limit is {limit}")
    return value


def _decimal(parent: Mapping[str, Any], key: str, path: str, *, money: bool) -> Decimal:
    value = parent.get(key)
    if value is None:
        raise ValidationError(path, "is required")
    if not isinstance(value, str):
        kind = "money" if money else "a decimal"
        raise ValidationError(
            path, f'{kind} must be a JSON string such as "12.50", not {type(value).__name__}'
        )
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValidationError(path, f"{value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ValidationError(path, f"{value!r} is not a decimal number")
    exponent = number.as_tuple().exponent
    if money and isinstance(exponent, int) and exponent < -2:
        raise ValidationError(path, f"{value!r} has more than 2 decimals")
    return number


def _address(body: Mapping[str, Any], key: str, limits: ErpLimits) -> None:
    address = _object(body, key, key)
    _text(address, "name", f"{key}.name", limit=limits.name, required=True)
    _text(address, "company", f"{key}.company", limit=limits.name)
    lines = address.get("lines")
    if not isinstance(lines, list) or not lines:
        raise ValidationError(f"{key}.lines", "must be a non-empty list of strings")
    if len(lines) > limits.address_lines:
        raise ValidationError(f"{key}.lines", f"has {len(lines)} lines; the limit is {limits.address_lines}")
    for i, line in enumerate(lines):
        if not isinstance(line, str):
            raise ValidationError(f"{key}.lines[{i}]", "must be a string")
        if len(line) > limits.address_line:
            raise ValidationError(
                f"{key}.lines[{i}]", f"is {len(line)} characters long; the limit is {limits.address_line}"
            )
    _text(address, "city", f"{key}.city", limit=limits.city, required=True)
    _text(address, "region", f"{key}.region")
    _text(address, "postcode", f"{key}.postcode", limit=limits.postcode)
    country = _text(address, "country", f"{key}.country", required=True)
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        raise ValidationError(f"{key}.country", f"{country!r} is not an ISO 3166-1 alpha-2 code")
    _text(address, "phone", f"{key}.phone", limit=limits.phone)
    _text(address, "email", f"{key}.email", limit=limits.email)


def _line(line: Any, path: str, state: RestErpState) -> None:
    if not isinstance(line, dict):
        raise ValidationError(path, "must be an object")
    line_no = line.get("line_no")
    if isinstance(line_no, bool) or not isinstance(line_no, int) or line_no < 1:
        raise ValidationError(f"{path}.line_no", "must be a positive integer")
    item_id = _text(line, "item_id", f"{path}.item_id", required=True)
    item = state.items.get(item_id)
    if item is None:
        raise ValidationError(f"{path}.item_id", f"unknown item {item_id!r}")
    if not item["active"]:
        raise ValidationError(f"{path}.item_id", f"item {item_id!r} is inactive")
    _text(line, "sku", f"{path}.sku")
    _text(line, "description", f"{path}.description")
    if _decimal(line, "qty", f"{path}.qty", money=False) <= 0:
        raise ValidationError(f"{path}.qty", "must be greater than 0")
    _decimal(line, "unit_price", f"{path}.unit_price", money=True)
    net = _decimal(line, "net", f"{path}.net", money=True)
    discount = _decimal(line, "discount", f"{path}.discount", money=True)
    tax = _decimal(line, "tax", f"{path}.tax", money=True)
    gross = _decimal(line, "gross", f"{path}.gross", money=True)
    if "tax_rate" in line:
        _decimal(line, "tax_rate", f"{path}.tax_rate", money=False)
    if abs(net - discount + tax - gross) > _TOLERANCE:
        raise ValidationError(
            f"{path}.gross", f"net - discount + tax = {(net - discount + tax).quantize(_CENT)}, not {gross}"
        )


def validate_sales_order(body: Mapping[str, Any], state: RestErpState) -> None:
    """Check a sales order against the contract and the state's limits; raises `ValidationError`."""
    limits = state.limits
    _text(body, "external_id", "external_id", required=True)
    order_date = _text(body, "order_date", "order_date", required=True)
    try:
        datetime.fromisoformat(order_date)
    except ValueError:
        raise ValidationError("order_date", f"{order_date!r} is not an ISO 8601 timestamp") from None
    currency = _text(body, "currency", "currency", required=True)
    if currency not in state.currencies:
        raise ValidationError("currency", f"{currency!r} is not an accepted currency")
    customer = _object(body, "customer", "customer")
    _text(customer, "email", "customer.email", limit=limits.email)
    _text(customer, "name", "customer.name", limit=limits.name)
    _address(body, "bill_to", limits)
    _address(body, "ship_to", limits)
    _text(body, "carrier", "carrier")
    _text(body, "service", "service")
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        raise ValidationError("lines", "must be a non-empty list")
    for i, line in enumerate(lines):
        _line(line, f"lines[{i}]", state)
    shipping = _object(body, "shipping", "shipping")
    _decimal(shipping, "net", "shipping.net", money=True)
    _decimal(shipping, "tax", "shipping.tax", money=True)
    for key in ("discount_total", "tax_total", "grand_total"):
        _decimal(body, key, key, money=True)
    payment = _object(body, "payment", "payment", required=False)
    _text(payment, "method", "payment.method")
    _text(payment, "reference", "payment.reference")
    _text(body, "tax_mode", "tax_mode")


# --- HTTP -----------------------------------------------------------------------------------------------


def rest_erp_error_body(status: int, message: str) -> dict[str, Any]:
    """The contract's error shape, for injected faults."""
    codes = {429: "rate_limited", 502: "bad_gateway", 503: "unavailable"}
    return {"error": codes.get(status, f"http_{status}"), "message": message}


_BODY = msgspec.json.Decoder(float_hook=Decimal)


def _json_body(raw: bytes) -> Any:
    """A request body as `json.loads(raw, parse_float=Decimal)` reads it, in a seventh of the time (the
    emulator shares the machine with the engine it serves). What msgspec refuses and the standard library
    takes (a NaN literal, a lone surrogate escape) is read by the standard library, so the emulator answers
    exactly as before."""
    try:
        return _BODY.decode(raw)
    except msgspec.DecodeError:
        return json.loads(raw, parse_float=Decimal)


def _json(status: int, body: Any) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json")


def _error(status: int, error: str, message: str, field: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"error": error, "message": message}
    if field is not None:
        body["field"] = field
    body.update(extra)
    return _json(status, body)


def _query_int(request: Request, name: str, default: int, high: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(name, f"{raw!r} is not an integer") from None
    if value < 1 or (high is not None and value > high):
        raise ValidationError(name, f"must be from 1 to {high}" if high else "must be 1 or more")
    return value


def create_app(state: RestErpState, *, token: str, faults: Faults | None = None) -> Starlette:
    """The emulator app: `/api/v1/items`, `/api/v1/sales-orders` and the `/_sandbox/` admin endpoints."""
    expected = f"Bearer {token}".encode()

    def unauthorised(request: Request) -> Response | None:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        supplied = f"Bearer {credential.strip()}".encode()
        if scheme.lower() == "bearer" and hmac.compare_digest(supplied, expected):
            return None
        return _error(401, "unauthorized", "A valid bearer token is required.")

    async def list_items(request: Request) -> Response:
        if denied := unauthorised(request):
            return denied
        try:
            page = _query_int(request, "page", 1)
            per_page = _query_int(request, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
            since_raw = request.query_params.get("updated_since")
            try:
                since = format_timestamp(since_raw) if since_raw else None
            except ValueError:
                raise ValidationError("updated_since", f"{since_raw!r} is not ISO 8601") from None
        except ValidationError as exc:
            return _error(400, "validation", exc.message, exc.field)
        items = [i for i in state.items.values() if since is None or i["updated_at"] >= since]
        items.sort(key=lambda i: (i["updated_at"], i["item_id"]))
        start = (page - 1) * per_page
        return _json(
            200,
            {
                "items": items[start : start + per_page],
                "page": page,
                "per_page": per_page,
                "total": len(items),
            },
        )

    async def post_sales_order(request: Request) -> Response:
        if denied := unauthorised(request):
            return denied
        try:
            body = _json_body(await request.body())
        except ValueError:
            return _error(400, "bad_request", "The body is not valid JSON.")
        if not isinstance(body, dict):
            return _error(400, "bad_request", "The body must be a JSON object.")
        try:
            external_id = _text(body, "external_id", "external_id", required=True)
            existing = state.by_external_id.get(external_id)
            if existing and state.enforce_unique:
                return _error(
                    409,
                    "duplicate_external_id",
                    f"A sales order with external_id {external_id!r} already exists.",
                    sales_order_id=existing[0],
                )
            validate_sales_order(body, state)
        except ValidationError as exc:
            return _error(422, "validation", exc.message, exc.field)
        record = state.store_sales_order(body, request.headers.get("idempotency-key"))
        return _json(
            201, {"sales_order_id": record["sales_order_id"], "external_id": external_id, "status": "open"}
        )

    async def find_sales_orders(request: Request) -> Response:
        if denied := unauthorised(request):
            return denied
        external_id = request.query_params.get("external_id")
        if not external_id:
            return _error(400, "validation", "external_id is required.", "external_id")
        return _json(200, {"sales_orders": state.find(external_id)})

    async def admin_sales_orders(request: Request) -> Response:
        counts = Counter({k: len(v) for k, v in state.by_external_id.items()})
        if request.query_params.get("summary"):  # counts only: a benchmark's 100,000 orders stay put
            copies = Counter(counts.values())
            return _json(200, {"count": len(state.sales_orders), "external_ids": len(counts),
                               "copies": {str(n): k for n, k in sorted(copies.items())}})  # fmt: skip
        return _json(
            200,
            {
                "count": len(state.sales_orders),
                "sales_orders": list(state.sales_orders.values()),
                "by_external_id": dict(counts),
            },
        )

    async def admin_items(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            rows = body.get("items") if isinstance(body, dict) else body
            if not isinstance(rows, list):
                raise ValueError('send a list of items, or {"items": [...]}')
            added = state.add_items(rows)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return _error(400, "bad_request", f"Cannot add items: {exc!r}")
        return _json(200, {"added": added, "total": len(state.items)})

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        code = {404: "not_found", 405: "method_not_allowed", 500: "internal"}.get(status, f"http_{status}")
        return _error(status, code, f"{request.method} {request.url.path}: {code.replace('_', ' ')}.")

    faults = faults if faults is not None else Faults()
    routes = [
        Route(f"{BASE_PATH}/items", list_items, methods=["GET"]),
        Route(f"{BASE_PATH}/sales-orders", post_sales_order, methods=["POST"]),
        Route(f"{BASE_PATH}/sales-orders", find_sales_orders, methods=["GET"]),
        Route("/_sandbox/sales-orders", admin_sales_orders, methods=["GET"]),
        Route("/_sandbox/items", admin_items, methods=["POST"]),
        *back_office_routes(state, unauthorised),
        *fault_routes(faults),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(FaultsMiddleware, faults=faults, error_body=rest_erp_error_body)],
        exception_handlers={HTTPException: http_error, Exception: http_error},
    )
    app.state.erp = state
    app.state.faults = faults
    return app
