"""Credit memos in the Magento emulator: `POST /V1/order/{id}/refund` (an offline credit memo),
`POST /V1/invoice/{id}/refund`, `GET /V1/creditmemos` (searchCriteria, filter groups and sort orders as the
orders endpoint) and `GET /V1/creditmemo/{id}`, in the shapes of the vendored 2.4.8 schema.

As Magento's RefundOrder does (contracts/magento/README.md): items are named by order item id and a quantity
is refused (400) beyond what is left to refund; without `arguments.shipping_amount` the shipping left to
refund is refunded in full, with it that amount (tax-inclusive); `adjustment_positive` is added and
`adjustment_negative` taken off. `arguments.extension_attributes.return_to_stock_items` flags lines back to
stock. Magento keeps that flag only while it saves the memo, so trueup reads it from the credit memo item's
`extension_attributes.back_to_stock`, which a deployment adds with a small extension module (documented in
docs/refunds.md); the emulator writes it. A fully refunded order is `closed`. `refund_by_hand` is a person
refunding in the admin, which is how refunds reach the scenario.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trueup.sandbox.magento import (
    _FILTER_KEY,
    _PAGE_KEY,
    _SORT_KEY,
    NOT_FOUND,
    Filter,
    MagentoState,
    SearchCriteria,
    SearchCriteriaError,
    _int_param,
    _sort_key,
)
from trueup.sandbox.magento_routes import (
    DECODING_ERROR,
    Paths,
    document_item,
    error,
    per_state,
    requested_lines,
    under_rest,
)

TIME = "%Y-%m-%d %H:%M:%S"
CENT = Decimal("0.01")
MEMO_COLUMNS = frozenset(
    {
        "entity_id",
        "increment_id",
        "order_id",
        "invoice_id",
        "created_at",
        "updated_at",
        "state",
        "grand_total",
    }
)
_INVALID = 'Invalid value of "%1" provided for the %2 field.'
TOO_MUCH = "The most money available to refund is %1."
NOTHING = "You can't create a creditmemo without products."


def _too_many(sku: str) -> str:
    return f"The quantity to creditmemo must not be greater than the unrefunded quantity for product {sku}."


class RefundRefused(ValueError):
    """Magento's 400 answer to a credit memo it will not create."""


def _m(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _now() -> str:
    return datetime.now(UTC).strftime(TIME)


class RefundState:
    """The credit memos (and the invoices they may name) of one `MagentoState`."""

    def __init__(self, orders: MagentoState) -> None:
        self.orders = orders
        self.memos: dict[int, dict[str, Any]] = {}
        self.invoices: dict[int, int] = {}  # invoice id -> order entity id (see magento_invoices)
        self.refund_calls = 0
        self.refunded: dict[int, dict[str, Decimal]] = {}  # order item id -> amounts refunded so far

    def refund(
        self,
        entity_id: int,
        items: Sequence[Mapping[str, Any]] = (),
        *,
        shipping_amount: Decimal | None = None,
        adjustment_positive: Decimal = Decimal(0),
        adjustment_negative: Decimal = Decimal(0),
        back_to_stock: Iterable[int] = (),
        invoice_id: int | None = None,
        comment: str = "",
    ) -> int:
        """Create an offline credit memo; raises `KeyError` (no such order) or `RefundRefused`."""
        order = self.orders.get(entity_id)
        if order is None:
            raise KeyError(entity_id)
        lines = {int(i["item_id"]): dict(i) for i in order["items"]}
        restock = set(back_to_stock)
        memo_id = len(self.memos) + 1
        memo_items: list[dict[str, Any]] = []
        released: dict[int, Decimal] = {}  # MSI: units refunded before they shipped
        returned: dict[int, Decimal] = {}  # MSI: shipped units refunded back to stock
        commits: list[tuple[int, dict[str, Decimal]]] = []
        subtotal = tax = gross_lines = discount = Decimal(0)
        for item_id, line, qty, left in requested_lines(
            items, lines, "qty_refunded", RefundRefused, NOTHING, _too_many
        ):
            share = qty / line["qty_ordered"]
            done = self.refunded.get(item_id) or dict.fromkeys(("row", "tax", "off", "incl"), Decimal(0))
            whole = {
                "row": line["row_total"],
                "tax": line["tax_amount"],
                "off": line["discount_amount"],
                "incl": line["row_total_incl_tax"],
            }
            # pro rata, and the last units take what is left, so that the memos add up to the order exactly
            part = {k: (v - done[k]) if qty == left else _m(v * share) for k, v in whole.items()}
            line["tax_refunded"] = done["tax"] + part["tax"]
            line["discount_refunded"] = done["off"] + part["off"]
            row, line_tax, off, incl = part["row"], part["tax"], part["off"], part["incl"]
            commits.append((item_id, {k: done[k] + v for k, v in part.items()}))
            memo_items.append(
                {
                    **document_item(memo_id, len(memo_items) + 1, item_id, line, qty),
                    "product_id": line.get("product_id"),
                    "price_incl_tax": line.get("price_incl_tax", line["price"]),
                    "row_total": row,
                    "row_total_incl_tax": incl,
                    "tax_amount": line_tax,
                    "discount_amount": off,
                    "extension_attributes": {"back_to_stock": item_id in restock},
                }
            )
            unshipped = max(Decimal(0), line["qty_ordered"] - line["qty_shipped"] - line["qty_canceled"])
            released[item_id] = min(qty, unshipped)
            if item_id in restock:
                returned[item_id] = min(qty, line["qty_shipped"])
            line["qty_refunded"] = line["qty_refunded"] + qty
            line["amount_refunded"] = line.get("amount_refunded", Decimal(0)) + incl - off
            lines[item_id] = line
            subtotal += row
            tax += line_tax
            gross_lines += incl - off
            discount += off
        ship_incl_order = Decimal(str(order.get("shipping_incl_tax") or 0))
        ship_tax_order = Decimal(str(order.get("shipping_tax_amount") or 0))
        ship_left = ship_incl_order - Decimal(str(order.get("shipping_refunded_incl_tax") or 0))
        ship_incl = ship_left if shipping_amount is None else shipping_amount
        if ship_incl > ship_left or ship_incl < 0:
            raise RefundRefused(TOO_MUCH.replace("%1", str(ship_left)))
        ship_tax = _m(ship_tax_order * ship_incl / ship_incl_order) if ship_incl_order else Decimal(0)
        if not memo_items and ship_incl == 0 and adjustment_positive == 0:
            raise RefundRefused(NOTHING)
        adjustment = adjustment_positive - adjustment_negative
        grand = gross_lines + ship_incl + adjustment
        paid = Decimal(str(order.get("total_paid") or 0)) - Decimal(str(order.get("total_refunded") or 0))
        if grand > paid or grand < 0:
            raise RefundRefused(TOO_MUCH.replace("%1", str(paid)))
        now = _now()
        memo: dict[str, Any] = {
            "entity_id": memo_id,
            "increment_id": f"{memo_id:09d}",
            "order_id": entity_id,
            "invoice_id": invoice_id,
            "store_id": order.get("store_id", 1),
            "state": 2,  # refunded
            "creditmemo_status": None,
            "order_currency_code": order.get("order_currency_code"),
            "base_currency_code": order.get("base_currency_code"),
            "subtotal": subtotal,
            "subtotal_incl_tax": subtotal + tax,
            "discount_amount": -discount,
            "tax_amount": tax + ship_tax,
            "shipping_amount": ship_incl - ship_tax,
            "shipping_tax_amount": ship_tax,
            "shipping_incl_tax": ship_incl,
            "adjustment": adjustment,
            "adjustment_positive": adjustment_positive,
            "adjustment_negative": adjustment_negative,
            "grand_total": grand,
            "base_grand_total": grand,
            "created_at": now,
            "updated_at": now,
            "items": memo_items,
            "comments": [],
        }
        if comment:
            memo["comments"].append(
                {"entity_id": memo_id, "parent_id": memo_id, "comment": comment, "created_at": now,
                 "is_customer_notified": 0, "is_visible_on_front": 0}
            )  # fmt: skip
        self.memos[memo_id] = memo
        self.refunded.update(commits)
        refunded = Decimal(str(order.get("total_refunded") or 0)) + grand
        changes: dict[str, Any] = {
            "items": list(lines.values()),
            "total_refunded": refunded,
            "total_offline_refunded": Decimal(str(order.get("total_offline_refunded") or 0)) + grand,
            "shipping_refunded_incl_tax": Decimal(str(order.get("shipping_refunded_incl_tax") or 0))
            + ship_incl,
        }
        if refunded >= Decimal(str(order.get("grand_total") or 0)):
            changes.update(state="closed", status="closed")
        self.orders.update_order(entity_id, changes, now)
        from trueup.sandbox.magento_msi import on_release, on_return

        on_release(self.orders, order, released)
        on_return(self.orders, order, returned)
        return memo_id

    def refund_by_hand(
        self,
        increment_id: str,
        lines: Iterable[tuple[str, int]] = (),
        *,
        restock: bool = False,
        shipping: Decimal | None = Decimal(0),
        adjustment_positive: Decimal = Decimal(0),
        adjustment_negative: Decimal = Decimal(0),
    ) -> int:
        """A person refunds (part of) an order in the admin, by SKU (a line with money: a configurable by
        its child's SKU names its parent line), or every line in full when `lines` is empty."""
        order = next(o for o in self.orders if o["increment_id"] == increment_id)
        by_id = {int(i["item_id"]): i for i in order["items"]}

        def money_line(item: Mapping[str, Any]) -> Mapping[str, Any]:
            parent = by_id.get(int(item["parent_item_id"])) if item.get("parent_item_id") else None
            return parent if parent is not None and parent["product_type"] == "configurable" else item

        if lines:
            wanted = [(money_line(next(i for i in order["items"] if i["sku"] == s)), q) for s, q in lines]
        else:
            wanted = [
                (i, int(i["qty_ordered"] - i["qty_refunded"] - i["qty_canceled"]))
                for i in order["items"]
                if i["product_type"] != "bundle"
                and not (i.get("parent_item_id") and i["row_total_incl_tax"] == 0)
            ]
            wanted = [(i, q) for i, q in wanted if q > 0]
        items = [{"order_item_id": int(i["item_id"]), "qty": q} for i, q in wanted]
        return self.refund(
            int(order["entity_id"]),
            items,
            shipping_amount=shipping,
            adjustment_positive=adjustment_positive,
            adjustment_negative=adjustment_negative,
            back_to_stock=[int(i["item_id"]) for i, _ in wanted] if restock else (),
        )

    def search(self, criteria: SearchCriteria) -> tuple[list[dict[str, Any]], int]:
        found = [
            m
            for m in self.memos.values()
            if all(any(f.matches(m.get(f.field)) for f in group) for group in criteria.filter_groups)
        ]
        for field, direction in reversed(criteria.sort_orders):
            found.sort(key=lambda m: _sort_key(m.get(field)), reverse=direction == "DESC")
        total = len(found)
        size = criteria.page_size or total or 1
        page = max(criteria.current_page or 1, 1)
        return found[(page - 1) * size : page * size], total


refunds_of = per_state(RefundState)  # the one RefundState of an order state


def parse_memo_criteria(params: Iterable[tuple[str, str]]) -> SearchCriteria:
    """searchCriteria over the `sales_creditmemo` columns (filter groups, sort orders, paging), parsed as the
    orders endpoint parses it; raises `SearchCriteriaError`."""
    groups: dict[int, dict[int, dict[str, str]]] = {}
    sorts: dict[int, dict[str, str]] = {}
    paging: dict[str, int] = {}
    for key, value in params:
        if m := _FILTER_KEY.fullmatch(key):
            part = "condition_type" if m[3] == "conditionType" else m[3]
            groups.setdefault(int(m[1]), {}).setdefault(int(m[2]), {})[part] = value
        elif m := _SORT_KEY.fullmatch(key):
            sorts.setdefault(int(m[1]), {})[m[2]] = value
        elif m := _PAGE_KEY.fullmatch(key):
            paging["size" if m[1] in ("pageSize", "page_size") else "page"] = _int_param(value, m[1])
    filter_groups = []
    for _, group in sorted(groups.items()):
        filters = []
        for _, spec in sorted(group.items()):
            field = spec.get("field", "")
            if field not in MEMO_COLUMNS:
                raise SearchCriteriaError(_INVALID, [field, "field"])
            # Build on an order column with the same semantics, then name the credit memo column.
            built = Filter.build("entity_id", spec.get("value"), spec.get("condition_type") or "eq")
            filters.append(replace(built, field=field))
        filter_groups.append(tuple(filters))
    sort_orders = []
    for _, spec in sorted(sorts.items()):
        field, direction = spec.get("field", ""), (spec.get("direction") or "ASC").upper()
        if field not in MEMO_COLUMNS:
            raise SearchCriteriaError(_INVALID, [field, "field"])
        if direction not in ("ASC", "DESC"):
            raise SearchCriteriaError(_INVALID, [direction, "direction"])
        sort_orders.append((field, direction))
    return SearchCriteria(tuple(filter_groups), tuple(sort_orders), paging.get("size"), paging.get("page"))


def _money(body: Mapping[str, Any], name: str) -> Decimal | None:
    value = body.get(name)
    return None if value is None else Decimal(str(value))


def refund_routes(
    state: MagentoState,
    refused: Callable[[Request], Response | None],
    respond: Callable[[int, Any], Response],
) -> list[Route]:
    """The credit memo routes, under `/rest` and `/rest/{store_code}`, behind the app's credential check."""
    refunds = refunds_of(state)

    async def create(request: Request, entity_id: int, invoice_id: int | None) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return respond(400, DECODING_ERROR)
        refunds.refund_calls += 1
        arguments = body.get("arguments") or {}
        extension = arguments.get("extension_attributes") or {}
        comment = (body.get("comment") or {}).get("comment") or ""
        try:
            memo_id = refunds.refund(
                entity_id,
                body.get("items") or [],
                shipping_amount=_money(arguments, "shipping_amount"),
                adjustment_positive=_money(arguments, "adjustment_positive") or Decimal(0),
                adjustment_negative=_money(arguments, "adjustment_negative") or Decimal(0),
                back_to_stock=[int(i) for i in extension.get("return_to_stock_items") or []],
                invoice_id=invoice_id,
                comment=comment,
            )
        except KeyError:
            return respond(404, NOT_FOUND)
        except (RefundRefused, ValueError, ArithmeticError) as exc:
            return respond(400, error(str(exc)))
        return respond(200, memo_id)

    async def order_refund(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            entity_id = int(request.path_params["order_id"])
        except ValueError:
            return respond(404, NOT_FOUND)
        return await create(request, entity_id, None)

    async def invoice_refund(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            invoice_id = int(request.path_params["invoice_id"])
        except ValueError:
            return respond(404, NOT_FOUND)
        entity_id = refunds.invoices.get(invoice_id)
        if entity_id is None:
            return respond(404, NOT_FOUND)
        return await create(request, entity_id, invoice_id)

    async def search(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            criteria = parse_memo_criteria(request.query_params.multi_items())
        except SearchCriteriaError as exc:
            return respond(400, exc.body)
        found, total = refunds.search(criteria)
        return respond(200, {"items": found, "search_criteria": criteria.echo(), "total_count": total})

    async def get_one(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            memo = refunds.memos.get(int(request.path_params["memo_id"]))
        except ValueError:
            memo = None
        return respond(200, memo) if memo is not None else respond(404, NOT_FOUND)

    paths: Paths = [
        ("/V1/order/{order_id}/refund", order_refund, "POST"),
        ("/V1/invoice/{invoice_id}/refund", invoice_refund, "POST"),
        ("/V1/creditmemos", search, "GET"),
        ("/V1/creditmemo/{memo_id}", get_one, "GET"),
    ]
    return under_rest(paths)
