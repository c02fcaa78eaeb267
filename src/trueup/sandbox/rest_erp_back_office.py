"""The REST ERP emulator's back office: stock, prices, despatches, credit notes and the ledger.

The warehouse and finance act through `RestErpBackOffice` (what the sandbox's users do: count stock, despatch
an order, which raises its invoice); trueup reads and posts through the `/api/v1` routes, per
docs/connectors/rest-erp.md.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import simplejson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from trueup.sandbox.rest_erp import RestErpState

BASE = "/api/v1"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(status: int, body: Any) -> Response:
    return Response(
        simplejson.dumps(body, use_decimal=True), status_code=status, media_type="application/json"
    )


def _error(status: int, error: str, message: str, **extra: Any) -> Response:
    return _json(status, {"error": error, "message": message, **extra})


def _page(request: Request, rows: list[dict[str, Any]], key: str) -> Response:
    page = max(1, int(request.query_params.get("page", "1")))
    per_page = min(1000, max(1, int(request.query_params.get("per_page", "100"))))
    start = (page - 1) * per_page
    return _json(
        200, {key: rows[start : start + per_page], "page": page, "per_page": per_page, "total": len(rows)}
    )


class RestErpBackOffice:
    """The ERP's own users, acting on the emulator's state."""

    def __init__(self, state: RestErpState) -> None:
        self.state = state

    def item_by_sku(self, sku: str) -> dict[str, Any]:
        return next(i for i in self.state.items.values() if i["sku"] == sku)

    def set_stock(
        self, sku: str, location: str, *, on_hand: int, allocated: int = 0, quarantined: int = 0
    ) -> None:
        item = self.item_by_sku(sku)
        self.state.stock[(item["item_id"], location)] = {
            "item_id": item["item_id"],
            "sku": sku,
            "location": location,
            "on_hand": on_hand,
            "allocated": allocated,
            "quarantined": quarantined,
            "on_order": 0,
            "counted_at": _stamp(_now()),
        }

    def set_price(self, sku: str, currency: str, price: str) -> None:
        item = self.item_by_sku(sku)
        self.state.prices[(item["item_id"], currency)] = {
            "item_id": item["item_id"],
            "sku": sku,
            "currency": currency,
            "price": price,
            "kind": "base",
            "customer_group": None,
            "min_qty": 1,
        }

    def despatch(
        self,
        external_id: str,
        *,
        carrier: str,
        service: str,
        tracking: str,
        lines: list[tuple[str, int]],
        closes_order: bool = False,
    ) -> str:
        """Despatch (part of) a sales order; the first despatch of an order raises its invoice. The order is
        `complete` once everything is despatched, or when the warehouse closes it short (`closes_order`);
        each despatch carries the order's status as it left it."""
        order = self.state.find(external_id)[0]
        if order.get("status") == "cancelled":
            raise ValueError(f"sales order {order['sales_order_id']} is cancelled")
        shipped = lines or [(ln["sku"], int(Decimal(ln["qty"]))) for ln in order["lines"]]
        despatch_id = f"DN-{len(self.state.despatches) + 1:06d}"
        done: Counter[str] = Counter()  # what this and every earlier despatch of the order took, by SKU
        for sku, qty in shipped:
            done[sku] += qty
        for earlier in self.state.despatches:
            if earlier["external_id"] == external_id:
                done.update({ln["sku"]: ln["qty"] for ln in earlier["lines"]})
        ordered: Counter[str] = Counter()
        for ln in order["lines"]:
            ordered[ln["sku"]] += int(Decimal(ln["qty"]))
        whole = all(done[sku] >= qty for sku, qty in ordered.items())
        order["status"] = "complete" if closes_order or whole else "part_despatched"
        self.state.despatches.append(
            {
                "despatch_id": despatch_id,
                "sequence": len(self.state.despatches) + 1,
                "external_id": external_id,
                "sales_order_id": order["sales_order_id"],
                "despatched_at": _stamp(_now()),
                "carrier": carrier,
                "service": service,
                "tracking_numbers": [tracking],
                "lines": [{"sku": s, "qty": q} for s, q in shipped],
                "order_status": order["status"],
            }
        )
        if not any(e["kind"] == "invoice" and e["external_id"] == external_id for e in self.state.ledger):
            gross = Decimal(order["grand_total"])
            tax = Decimal(order["tax_total"])
            self.state.ledger.append(
                {
                    "kind": "invoice",
                    "document_id": f"INV-{len(self.state.ledger) + 1:06d}",
                    "external_id": external_id,
                    "posted_on": _now().date().isoformat(),
                    "currency": order["currency"],
                    "net": str(gross - tax),
                    "tax": str(tax),
                    "gross": str(gross),
                }
            )
        return despatch_id


def _money(body: dict[str, Any], key: str) -> Decimal:
    value = body.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a decimal string")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{key} {value!r} is not a decimal") from None


def back_office_routes(
    state: RestErpState, unauthorised: Callable[[Request], Response | None]
) -> list[BaseRoute]:
    async def stock(request: Request) -> Response:
        if denied := unauthorised(request):
            return denied
        rows = sorted(state.stock.values(), key=lambda r: (r["item_id"], r["location"]))
        response = _page(request, rows, "stock")
        response.headers["X-Snapshot-Taken-At"] = _stamp(_now())
        return response

    async def prices(request: Request) -> Response:
        if denied := unauthorised(request):
            return denied
        return _page(
            request, sorted(state.prices.values(), key=lambda r: (r["item_id"], r["currency"])), "prices"
        )

    async def despatches(request: Request) -> Response:
        if denied := unauthorised(request):
            return denied
        after = int(request.query_params.get("after", "0"))
        limit = min(500, int(request.query_params.get("limit", "100")))
        rows = [d for d in state.despatches if d["sequence"] > after][:limit]
        return _json(200, {"despatches": rows, "next_after": rows[-1]["sequence"] if rows else after})

    async def post_credit_note(request: Request) -> Response:
        if denied := unauthorised(request):
            return denied
        body = json.loads(await request.body(), parse_float=Decimal)
        external_id = str(body.get("external_id") or "")
        if not external_id:
            return _error(422, "validation", "external_id is required", field="external_id")
        existing = state.credit_notes_by_external_id.get(external_id)
        if existing and state.enforce_unique:
            return _error(
                409,
                "duplicate_external_id",
                f"credit note {external_id!r} exists",
                credit_note_id=existing[0],
            )
        order_ref = str(body.get("order_external_id") or "")
        if not state.find(order_ref):
            return _error(
                422,
                "order_not_found",
                f"no sales order with external_id {order_ref!r} yet",
                field="order_external_id",
            )
        try:
            total = _money(body, "total")
            for i, line in enumerate(body.get("lines") or []):
                for key in ("net", "tax", "gross"):
                    _money(line, key)
                if line.get("item_id") not in state.items:
                    return _error(
                        422,
                        "validation",
                        f"unknown item {line.get('item_id')!r}",
                        field=f"lines[{i}].item_id",
                    )
        except ValueError as exc:
            return _error(422, "validation", str(exc))
        credit_note_id = f"CN-{len(state.credit_notes) + 1:06d}"
        state.credit_notes[credit_note_id] = {**body, "credit_note_id": credit_note_id}
        state.credit_notes_by_external_id.setdefault(external_id, []).append(credit_note_id)
        for line in body.get("lines") or []:  # lines flagged restock go back on hand (the contract's rule)
            if line.get("restock"):
                where = next((k for k in state.stock if k[0] == line["item_id"]), (line["item_id"], "MAIN"))
                level = state.stock.setdefault(
                    where,
                    {"item_id": line["item_id"], "sku": line.get("sku"), "location": where[1], "on_hand": 0,
                     "allocated": 0, "quarantined": 0, "on_order": 0, "counted_at": _stamp(_now())},
                )  # fmt: skip
                level["on_hand"] += int(line.get("qty") or 0)
        tax = sum((Decimal(ln["tax"]) for ln in body.get("lines") or []), Decimal(0))
        tax += Decimal((body.get("shipping") or {}).get("tax") or "0")
        state.ledger.append(
            {
                "kind": "credit_note",
                "document_id": credit_note_id,
                "external_id": order_ref,
                "posted_on": _now().date().isoformat(),
                "currency": body.get("currency"),
                "net": str(total - tax),
                "tax": str(tax),
                "gross": str(total),
            }
        )
        return _json(201, {"credit_note_id": credit_note_id, "external_id": external_id})

    async def find_credit_notes(request: Request) -> Response:
        if denied := unauthorised(request):
            return denied
        ids = state.credit_notes_by_external_id.get(request.query_params.get("external_id", ""), [])
        return _json(200, {"credit_notes": [state.credit_notes[i] for i in ids]})

    async def cancel(request: Request) -> Response:
        """Cancel a sales order not yet despatched (again: no error); a despatched one is refused."""
        if denied := unauthorised(request):
            return denied
        order = state.sales_orders.get(request.path_params["sales_order_id"])
        if order is None:
            return _error(404, "not_found", "no such sales order")
        if any(d["sales_order_id"] == order["sales_order_id"] for d in state.despatches):
            return _error(
                409, "already_despatched", f"sales order {order['sales_order_id']} has been despatched"
            )
        order["status"] = "cancelled"
        return _json(200, {"sales_order_id": order["sales_order_id"], "status": "cancelled"})

    async def ledger(request: Request) -> Response:
        if denied := unauthorised(request):
            return denied
        try:
            start = date.fromisoformat(request.query_params["from"])
            end = date.fromisoformat(request.query_params["to"])
        except (KeyError, ValueError):
            return _error(400, "validation", "from and to are required ISO dates")
        rows = [e for e in state.ledger if start <= date.fromisoformat(e["posted_on"]) <= end]
        return _page(request, rows, "entries")

    return [
        Route(f"{BASE}/stock", stock, methods=["GET"]),
        Route(f"{BASE}/prices", prices, methods=["GET"]),
        Route(f"{BASE}/despatches", despatches, methods=["GET"]),
        Route(f"{BASE}/credit-notes", post_credit_note, methods=["POST"]),
        Route(f"{BASE}/credit-notes", find_credit_notes, methods=["GET"]),
        Route(f"{BASE}/ledger", ledger, methods=["GET"]),
        Route(f"{BASE}/sales-orders/{{sales_order_id}}/cancel", cancel, methods=["POST"]),
    ]
