"""Magento 2 REST emulator for the orders API (`GET /V1/orders`, `GET /V1/orders/{id}`).

It speaks the wire format recorded in `contracts/magento/`: OAuth 1.0a signatures and bearer tokens
(checked in `magento_auth.py`), `searchCriteria` query parsing in both the snake_case and the camelCase
spelling, OR within a filter group and AND across groups, sorting, paging with Magento 2.3's past-the-end
quirk (the last page again), Magento-shaped error bodies with unfilled `%placeholders`, and amounts
written as JSON numbers from `Decimal` (never through float).

`MagentoState` keeps orders in memory with each order's JSON bytes cached and indexes sorted by
(updated_at, entity_id) and (created_at, entity_id), so that the usual incremental query, a range on
`updated_at` sorted by it, is answered with `bisect` and a page body is a join of cached bytes.
"""

from __future__ import annotations

import json
import operator
import re
import sys
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trueup.sandbox.faults import Faults, FaultsMiddleware, fault_routes
from trueup.sandbox.magento_auth import UNAUTHORIZED, MagentoGate, OAuthCredentials
from trueup.sandbox.magento_catalog import CatalogState, catalog_routes
from trueup.sandbox.magento_fields import FieldsError, FieldTree, parse_fields, project
from trueup.sandbox.magento_inventory import InventoryState, inventory_routes
from trueup.sandbox.magento_prices import PriceState, price_routes
from trueup.sandbox.wire import dumps as _dumps

__all__ = [
    "CONDITION_TYPES",
    "ORDER_COLUMNS",
    "UNAUTHORIZED",
    "Filter",
    "MagentoState",
    "OAuthCredentials",
    "SearchCriteria",
    "SearchCriteriaError",
    "create_app",
    "magento_error_body",
    "parse_search_criteria",
]

_COLUMNS = """
    adjustment_negative adjustment_positive applied_rule_ids base_adjustment_negative
    base_adjustment_positive base_currency_code base_discount_amount base_discount_canceled
    base_discount_invoiced base_discount_refunded base_grand_total base_discount_tax_compensation_amount
    base_discount_tax_compensation_invoiced base_discount_tax_compensation_refunded base_shipping_amount
    base_shipping_canceled base_shipping_discount_amount base_shipping_discount_tax_compensation_amnt
    base_shipping_incl_tax base_shipping_invoiced base_shipping_refunded base_shipping_tax_amount
    base_shipping_tax_refunded base_subtotal base_subtotal_canceled base_subtotal_incl_tax
    base_subtotal_invoiced base_subtotal_refunded base_tax_amount base_tax_canceled base_tax_invoiced
    base_tax_refunded base_total_canceled base_total_due base_total_invoiced base_total_invoiced_cost
    base_total_offline_refunded base_total_online_refunded base_total_paid base_total_qty_ordered
    base_total_refunded base_to_global_rate base_to_order_rate billing_address_id can_ship_partially
    can_ship_partially_item coupon_code created_at customer_dob customer_email customer_firstname
    customer_gender customer_group_id customer_id customer_is_guest customer_lastname
    customer_middlename customer_note customer_note_notify customer_prefix customer_suffix
    customer_taxvat discount_amount discount_canceled discount_description discount_invoiced
    discount_refunded edit_increment email_sent entity_id ext_customer_id ext_order_id
    forced_shipment_with_invoice global_currency_code grand_total discount_tax_compensation_amount
    discount_tax_compensation_invoiced discount_tax_compensation_refunded hold_before_state
    hold_before_status increment_id is_virtual order_currency_code original_increment_id
    payment_authorization_amount payment_auth_expiration protect_code quote_address_id quote_id
    relation_child_id relation_child_real_id relation_parent_id relation_parent_real_id remote_ip
    shipping_amount shipping_canceled shipping_description shipping_discount_amount
    shipping_discount_tax_compensation_amount shipping_incl_tax shipping_invoiced shipping_refunded
    shipping_tax_amount shipping_tax_refunded state status store_currency_code store_id store_name
    store_to_base_rate store_to_order_rate subtotal subtotal_canceled subtotal_incl_tax
    subtotal_invoiced subtotal_refunded tax_amount tax_canceled tax_invoiced tax_refunded total_canceled
    total_due total_invoiced total_item_count total_offline_refunded total_online_refunded total_paid
    total_qty_ordered total_refunded updated_at weight x_forwarded_for
"""
ORDER_COLUMNS = frozenset(_COLUMNS.split())
"""The `sales_order` columns a search may filter or sort on (the scalar fields of the order schema)."""

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "from": operator.ge,
    "to": operator.le,
}
CONDITION_TYPES = frozenset({*_COMPARE, "in", "nin", "like", "nlike", "null", "notnull"})
"""The condition types accepted; any other answers 400."""

_INDEXED = ("updated_at", "created_at")
_RANGE_CONDITIONS = frozenset({"eq", "gt", "gteq", "lt", "lteq", "from", "to"})
_LOW_ID = -sys.maxsize
_HIGH_ID = sys.maxsize

NOT_FOUND = {
    "message": "The entity that was requested doesn't exist. Verify the entity and try again.",
    "parameters": [],
}
NO_ROUTE = {"message": "Request does not match any route.", "parameters": []}
_INVALID_VALUE = 'Invalid value of "%1" provided for the %2 field.'
_REQUIRED = '"%fieldName" is required. Enter and try again.'


class SearchCriteriaError(ValueError):
    """A `searchCriteria` that real Magento rejects with 400; carries the Magento error body."""

    def __init__(self, message: str, parameters: list[Any] | dict[str, Any]) -> None:
        super().__init__(message)
        self.body: dict[str, Any] = {"message": message, "parameters": parameters}


# --- search criteria ------------------------------------------------------------------------------------


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal | float)


@dataclass(frozen=True, slots=True)
class Filter:
    """One filter of a filter group, with its value pre-parsed for fast matching."""

    field: str
    value: str | None
    condition_type: str = "eq"
    number: Decimal | None = None
    values: tuple[tuple[str, Decimal | None], ...] = ()
    pattern: re.Pattern[str] | None = None

    @classmethod
    def build(cls, field: str, value: str | None, condition_type: str) -> Filter:
        """Validate a filter and pre-parse its value; raises `SearchCriteriaError`."""
        if field not in ORDER_COLUMNS:
            raise SearchCriteriaError(_INVALID_VALUE, [field, "field"])
        if condition_type not in CONDITION_TYPES:
            raise SearchCriteriaError(_INVALID_VALUE, [condition_type, "condition_type"])
        if value is None:
            if condition_type not in ("null", "notnull"):
                raise SearchCriteriaError(_REQUIRED, {"fieldName": "value"})
            return cls(field, None, condition_type)
        values: tuple[tuple[str, Decimal | None], ...] = ()
        pattern = None
        if condition_type in ("in", "nin"):
            values = tuple((part.strip(), _number(part)) for part in value.split(","))
        if condition_type in ("like", "nlike"):
            regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in value)
            pattern = re.compile(regex, re.IGNORECASE | re.DOTALL)
        return cls(field, value, condition_type, _number(value), values, pattern)

    def matches(self, actual: Any) -> bool:
        """Whether a field's value passes this filter, with SQL's NULL semantics."""
        condition = self.condition_type
        if condition == "null":
            return actual is None
        if condition == "notnull":
            return actual is not None
        if actual is None:
            return False
        numeric = _is_number(actual)
        if self.values:
            hit = any(
                (Decimal(actual) == number) if numeric and number is not None else str(actual) == text
                for text, number in self.values
            )
            return hit == (condition == "in")
        if self.pattern is not None:
            return (self.pattern.fullmatch(str(actual)) is not None) == (condition == "like")
        compare = _COMPARE[condition]
        if numeric and self.number is not None:
            return compare(Decimal(actual), self.number)
        return compare(str(actual), self.value)

    def echo(self) -> dict[str, Any]:
        """This filter as Magento echoes it in `search_criteria`."""
        out: dict[str, Any] = {"field": self.field}
        if self.value is not None:
            out["value"] = self.value
        out["condition_type"] = self.condition_type
        return out


@dataclass(frozen=True, slots=True)
class SearchCriteria:
    """A parsed `searchCriteria`: groups are AND-ed, the filters inside a group OR-ed."""

    filter_groups: tuple[tuple[Filter, ...], ...] = ()
    sort_orders: tuple[tuple[str, str], ...] = ()
    page_size: int | None = None
    current_page: int | None = None

    def echo(self) -> dict[str, Any]:
        """The `search_criteria` object of a search response, in Magento's shape."""
        out: dict[str, Any] = {
            "filter_groups": [{"filters": [f.echo() for f in group]} for group in self.filter_groups]
        }
        if self.sort_orders:
            out["sort_orders"] = [{"field": f, "direction": d} for f, d in self.sort_orders]
        if self.page_size is not None:
            out["page_size"] = self.page_size
        if self.current_page is not None:
            out["current_page"] = self.current_page
        return out


_FILTER_KEY = re.compile(
    r"searchCriteria\[(?:filter_groups|filterGroups)\]\[(\d+)\]\[filters\]\[(\d+)\]"
    r"\[(field|value|condition_type|conditionType)\]"
)
_SORT_KEY = re.compile(r"searchCriteria\[(?:sort_orders|sortOrders)\]\[(\d+)\]\[(field|direction)\]")
_PAGE_KEY = re.compile(r"searchCriteria\[(pageSize|page_size|currentPage|current_page)\]")


def _int_param(text: str, name: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise SearchCriteriaError(_INVALID_VALUE, [text, name]) from None


def parse_search_criteria(params: Iterable[tuple[str, str]]) -> SearchCriteria:
    """Parse query parameters the way Magento's REST layer does; raises `SearchCriteriaError`."""
    groups: dict[int, dict[int, dict[str, str]]] = {}
    sorts: dict[int, dict[str, str]] = {}
    paging: dict[str, int] = {}
    seen = False
    for key, value in params:
        if not key.startswith("searchCriteria"):
            continue
        seen = True
        if m := _FILTER_KEY.fullmatch(key):
            part = "condition_type" if m[3] == "conditionType" else m[3]
            groups.setdefault(int(m[1]), {}).setdefault(int(m[2]), {})[part] = value
        elif m := _SORT_KEY.fullmatch(key):
            sorts.setdefault(int(m[1]), {})[m[2]] = value
        elif m := _PAGE_KEY.fullmatch(key):
            name = "page_size" if m[1] in ("pageSize", "page_size") else "current_page"
            paging[name] = _int_param(value, m[1])
    if not seen:
        raise SearchCriteriaError(_REQUIRED, {"fieldName": "searchCriteria"})
    filter_groups = []
    for _, group in sorted(groups.items()):
        filters = []
        for _, spec in sorted(group.items()):
            if "field" not in spec:
                raise SearchCriteriaError(_REQUIRED, {"fieldName": "field"})
            filters.append(Filter.build(spec["field"], spec.get("value"), spec.get("condition_type") or "eq"))
        filter_groups.append(tuple(filters))
    sort_orders = []
    for _, spec in sorted(sorts.items()):
        if "field" not in spec:
            raise SearchCriteriaError(_REQUIRED, {"fieldName": "field"})
        if spec["field"] not in ORDER_COLUMNS:
            raise SearchCriteriaError(_INVALID_VALUE, [spec["field"], "field"])
        direction = spec.get("direction", "ASC").upper() or "ASC"
        if direction not in ("ASC", "DESC"):
            raise SearchCriteriaError(_INVALID_VALUE, [spec["direction"], "direction"])
        sort_orders.append((spec["field"], direction))
    return SearchCriteria(
        tuple(filter_groups), tuple(sort_orders), paging.get("page_size"), paging.get("current_page")
    )


def _sort_key(value: Any) -> tuple[int, Decimal, str]:
    """MySQL order: NULL first, then numbers numerically, then strings."""
    if value is None:
        return (0, Decimal(0), "")
    if _is_number(value):
        return (1, Decimal(value), "")
    return (2, Decimal(0), str(value))


# --- state ----------------------------------------------------------------------------------------------


def _normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-copy a JSON-like dict, turning any float into a Decimal (via its repr, never binary).

    Written as two loops over exact types rather than one recursive function: orders have hundreds of
    scalars and this runs once per `add_order`.
    """
    out: dict[str, Any] = {}
    for key, value in data.items():
        kind = type(value)
        if kind is dict:
            value = _normalise(value)
        elif kind is list or kind is tuple:
            value = _normalise_list(value)
        elif kind is float:
            value = Decimal(repr(value))
        out[key] = value
    return out


def _normalise_list(data: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for value in data:
        kind = type(value)
        if kind is dict:
            value = _normalise(value)
        elif kind is list or kind is tuple:
            value = _normalise_list(value)
        elif kind is float:
            value = Decimal(repr(value))
        out.append(value)
    return out


class ListObserver(Protocol):
    """Sees every order-list request: e.g. `OrderChurn`, which changes orders between an integration's
    page requests as a live store does."""

    def before_list(self, state: MagentoState) -> None: ...

    def after_list(self, state: MagentoState, served: Sequence[int]) -> None: ...


class MagentoState:
    """Orders as Magento-shaped dicts (the shape of `GET /V1/orders/{id}`; amounts are `Decimal`).

    `add_order` takes a deep copy (floats become Decimal). Change orders only through `update_order`, so
    that the cached JSON and the sorted indexes stay right.
    """

    def __init__(self, orders: Iterable[Mapping[str, Any]] = ()) -> None:
        self._orders: dict[int, dict[str, Any]] = {}
        self._json: dict[int, bytes] = {}
        self._projected: dict[int, dict[str, bytes]] = {}
        self._ids: list[int] = []
        self._by_increment: dict[str, int] = {}  # Magento's unique index on increment_id
        self._index: dict[str, list[tuple[str, int]]] = {name: [] for name in _INDEXED}
        self.observers: list[ListObserver] = []
        for order in orders:
            self.add_order(order)

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self._orders

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The orders in entity_id order."""
        return (self._orders[i] for i in self._ids)

    def get(self, entity_id: int) -> dict[str, Any] | None:
        """The order with this entity_id, or None. Treat it as read-only."""
        return self._orders.get(entity_id)

    def add_order(self, order: Mapping[str, Any]) -> None:
        """Add an order; raises `ValueError` for a duplicate entity_id or a malformed key field."""
        data = _normalise(order)
        entity_id = data.get("entity_id")
        if not isinstance(entity_id, int) or isinstance(entity_id, bool):
            raise ValueError(f"entity_id must be an int, not {entity_id!r}")
        if entity_id in self._orders:
            raise ValueError(f"order {entity_id} already exists")
        if not isinstance(data.get("increment_id"), str):
            raise ValueError("increment_id must be a string")
        for name in _INDEXED:
            if not isinstance(data.get(name), str):
                raise ValueError(f"{name} must be a 'YYYY-MM-DD HH:MM:SS' string")
        self._orders[entity_id] = data
        insort(self._ids, entity_id)
        self._by_increment[data["increment_id"]] = entity_id
        for name in _INDEXED:
            insort(self._index[name], (data[name], entity_id))

    def update_order(self, entity_id: int, changes: Mapping[str, Any], updated_at: str) -> None:
        """Shallow-merge `changes` into an order and set its updated_at; raises `KeyError` if unknown."""
        data = self._orders[entity_id]
        new = _normalise(changes)
        new["updated_at"] = updated_at
        if new.get("entity_id", entity_id) != entity_id:
            raise ValueError("entity_id cannot change")
        for name in _INDEXED:
            if name in new and not isinstance(new[name], str):
                raise ValueError(f"{name} must be a 'YYYY-MM-DD HH:MM:SS' string")
        for name in _INDEXED:
            if name in new and new[name] != data[name]:
                index = self._index[name]
                del index[bisect_left(index, (data[name], entity_id))]
                insort(index, (new[name], entity_id))
        data.update(new)
        self._json.pop(entity_id, None)
        self._projected.pop(entity_id, None)

    def order_json(self, entity_id: int, fields: tuple[str, FieldTree] | None = None) -> bytes:
        """The order's JSON bytes (trimmed to a `fields` filter, if given), serialised once and cached
        until the order changes."""
        if fields is None:
            body = self._json.get(entity_id)
            if body is None:
                body = self._json[entity_id] = _dumps(self._orders[entity_id])
            return body
        spec, tree = fields
        cached = self._projected.setdefault(entity_id, {})
        body = cached.get(spec)
        if body is None:
            body = cached[spec] = _dumps(project(self._orders[entity_id], tree))
        return body

    def search(self, criteria: SearchCriteria) -> tuple[list[int], int]:
        """The entity_ids of the requested page, and the total count of matching orders."""
        orders = self._orders
        only = criteria.filter_groups[0] if len(criteria.filter_groups) == 1 else ()
        if len(only) == 1 and only[0].field == "increment_id" and only[0].condition_type == "eq":
            # one order by its number (the fulfilment flow's look-up), by Magento's unique index
            found = self._by_increment.get(only[0].value or "")
            hit = found is not None and orders[found]["increment_id"] == only[0].value
            return ([found] if hit and found is not None else []), int(hit)
        groups = criteria.filter_groups
        sort_orders = criteria.sort_orders
        indexed = _pick_index(groups, sort_orders)
        presorted_on: str | None = None
        if indexed is None:
            candidates: Sequence[int] = self._ids
        else:
            name, used, after = indexed
            index = self._index[name]
            low, high = _bounds(index, [group[0] for group in used])
            if after is not None:  # a key page: (name, entity_id) > after, folded into the range
                low = max(low, bisect_right(index, after))
                high = max(low, high)
            skip = {*used, *([_key_group_of(groups, name)] if after is not None else [])}
            groups = tuple(group for group in groups if group not in skip)
            presorted_on = name
            if not groups and sort_orders in _in_index_order(name):
                # The index is already in the requested order: slice the page, count without a list.
                start, size = _page_bounds(criteria, high - low)
                end = min(high, low + start + size)
                return [entity_id for _, entity_id in index[low + start : end]], high - low
            candidates = [entity_id for _, entity_id in index[low:high]]
        # A key page by entity_id (`entity_id > E`, as the orphan sweep's index asks) compares plain ints,
        # so that listing a week of a busy store stays cheap page after page.
        id_groups, low_id, high_id = _id_range(groups)
        if id_groups:
            groups = tuple(group for group in groups if group not in id_groups)
            if candidates is self._ids:
                candidates = self._ids[bisect_right(self._ids, low_id) : bisect_right(self._ids, high_id)]
            else:
                candidates = [i for i in candidates if low_id < i <= high_id]
        if groups:
            matched = [
                i
                for i in candidates
                if all(any(f.matches(orders[i].get(f.field)) for f in group) for group in groups)
            ]
        else:
            matched = list(candidates)
        if presorted_on is not None and not (len(sort_orders) == 1 and sort_orders[0][0] == presorted_on):
            matched.sort()
        if sort_orders == (("entity_id", "ASC"),):
            sort_orders = ()  # already in entity_id order: the candidates were, or were just sorted
        elif sort_orders == (("entity_id", "DESC"),):
            matched.reverse()  # in entity_id order, as above: the newest first
            sort_orders = ()
        for name, direction in reversed(sort_orders):
            if name == presorted_on and len(sort_orders) == 1:
                if direction == "DESC":
                    matched.sort(key=lambda i: orders[i][name], reverse=True)
                continue
            matched.sort(key=lambda i: _sort_key(orders[i].get(name)), reverse=direction == "DESC")
        total = len(matched)
        start, size = _page_bounds(criteria, total)
        return matched[start : start + size], total


def _id_range(groups: tuple[tuple[Filter, ...], ...]) -> tuple[list[tuple[Filter, ...]], int, int]:
    """The groups that are only `entity_id > E` or `entity_id <= L` (integers), and the range (E, L]."""
    used: list[tuple[Filter, ...]] = []
    low, high = _LOW_ID, _HIGH_ID
    for group in groups:
        if len(group) != 1 or group[0].field != "entity_id":
            continue
        number = group[0].number
        if number is None or number != number.to_integral_value():
            continue
        if group[0].condition_type == "gt":
            low = max(low, int(number))
        elif group[0].condition_type == "lteq":
            high = min(high, int(number))
        else:
            continue
        used.append(group)
    return used, low, high


def _page_bounds(criteria: SearchCriteria, total: int) -> tuple[int, int]:
    """Offset and length of the requested page. Like Magento 2.3, a page past the end is the last page."""
    size = criteria.page_size
    if not size or size <= 0:
        return 0, total
    last_page = max(1, -(-total // size))
    page = min(max(criteria.current_page or 1, 1), last_page)
    return (page - 1) * size, size


def _in_index_order(name: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    """Sort orders that an index on (name, entity_id) already satisfies."""
    return (((name, "ASC"),), ((name, "ASC"), ("entity_id", "ASC")))


def _key_group_of(groups: tuple[tuple[Filter, ...], ...], name: str) -> tuple[Filter, ...] | None:
    """The group `name > T OR entity_id > E`: with `name >= T` beside it, it means (name, id) > (T, E)."""
    for group in groups:
        if len(group) != 2:
            continue
        by_field = {f.field: f for f in group}
        on_name, on_id = by_field.get(name), by_field.get("entity_id")
        if (
            on_name is not None
            and on_id is not None
            and on_name.condition_type == "gt"
            and on_id.condition_type == "gt"
            and on_id.number is not None
            and on_id.number == on_id.number.to_integral_value()
        ):
            return group
    return None


def _pick_index(
    groups: tuple[tuple[Filter, ...], ...], sort_orders: tuple[tuple[str, str], ...]
) -> tuple[str, list[tuple[Filter, ...]], tuple[str, int] | None] | None:
    """Pick an indexed field that single-filter groups bound with a range (the sort field first), and the
    key to page after, when a key group stands beside a `>=` on the same value."""
    names = sorted(_INDEXED, key=lambda n: not (sort_orders and sort_orders[0][0] == n))
    for name in names:
        used: list[tuple[Filter, ...]] = [
            group
            for group in groups
            if len(group) == 1
            and group[0].field == name
            and group[0].condition_type in _RANGE_CONDITIONS
            and group[0].value is not None
        ]
        if not used:
            continue
        after: tuple[str, int] | None = None
        key_group = _key_group_of(groups, name)
        if key_group is not None:
            on_name = next(f for f in key_group if f.field == name)
            on_id = next(f for f in key_group if f.field == "entity_id")
            floor = any(g[0].condition_type in ("gteq", "from") and g[0].value == on_name.value for g in used)
            if floor and on_name.value is not None and on_id.number is not None:
                after = (on_name.value, int(on_id.number))
        return name, used, after
    return None


def _bounds(index: list[tuple[str, int]], filters: list[Filter]) -> tuple[int, int]:
    low, high = 0, len(index)
    for f in filters:
        value = f.value
        assert value is not None
        cond = f.condition_type
        if cond in ("gt",):
            low = max(low, bisect_right(index, (value, _HIGH_ID)))
        if cond in ("gteq", "from", "eq"):
            low = max(low, bisect_left(index, (value, _LOW_ID)))
        if cond in ("lt",):
            high = min(high, bisect_left(index, (value, _LOW_ID)))
        if cond in ("lteq", "to", "eq"):
            high = min(high, bisect_right(index, (value, _HIGH_ID)))
    return low, max(low, high)


# --- HTTP -----------------------------------------------------------------------------------------------


def magento_error_body(status: int, message: str) -> dict[str, Any]:
    """A Magento-shaped error body, for injected faults."""
    return {"message": message, "parameters": []}


def _json_response(status: int, body: Mapping[str, Any]) -> Response:
    return Response(json.dumps(body).encode(), status_code=status, media_type="application/json")


def _json_body_response(status: int, body: Any) -> Response:
    """Any JSON body (a bare id, an entity), Decimal amounts written as numbers."""
    return Response(_dumps(body), status_code=status, media_type="application/json")


def create_app(
    state: MagentoState,
    *,
    token: str | None = None,
    oauth: OAuthCredentials | None = None,
    clock: Callable[[], float] | None = None,
    faults: Faults | None = None,
    inventory: InventoryState | None = None,
    prices: PriceState | None = None,
    catalog: CatalogState | None = None,
) -> Starlette:
    """The emulator app. Routes: `/rest[/{store_code}]/V1/orders` and `.../V1/orders/{id}` (GET).

    It accepts requests signed with the `oauth` integration's values (OAuth 1.0a, HMAC-SHA256; nonces and
    timestamps checked against `clock`) and, if `token` is given, that token as a bearer token.
    """
    gate = MagentoGate(token=token, oauth=oauth, clock=clock)

    def refused(request: Request) -> Response | None:
        """Magento's answer to credentials it does not accept; None when they are accepted."""
        refusal = gate.check(request.method, str(request.url), request.headers.get("authorization", ""))
        return None if refusal is None else _json_response(*refusal)

    async def list_orders(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            criteria = parse_search_criteria(request.query_params.multi_items())
        except SearchCriteriaError as exc:
            return _json_response(400, exc.body)
        for observer in state.observers:
            observer.before_list(state)
        page, total = state.search(criteria)
        for observer in state.observers:
            observer.after_list(state, page)
        spec = request.query_params.get("fields")
        try:
            top: FieldTree | None = parse_fields(spec) if spec else None
        except FieldsError as exc:
            return _json_response(400, {"message": str(exc), "parameters": []})
        wanted = top if top is not None else dict.fromkeys(("items", "search_criteria", "total_count"))
        items_tree = wanted.get("items") if top is not None else None
        item_fields = (spec or "", items_tree) if items_tree else None
        parts: list[bytes] = []
        if "items" in wanted:
            parts.append(b'"items":[' + b",".join([state.order_json(i, item_fields) for i in page]) + b"]")
        if "search_criteria" in wanted:
            parts.append(b'"search_criteria":' + json.dumps(criteria.echo(), separators=(",", ":")).encode())
        if "total_count" in wanted:
            parts.append(b'"total_count":' + str(total).encode())
        return Response(b"{" + b",".join(parts) + b"}", media_type="application/json")

    async def get_order(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        raw = request.path_params["order_id"]
        try:
            entity_id = int(raw)
        except ValueError:
            return _json_response(
                400,
                {
                    "message": 'The "%1" value\'s type is invalid. The "%2" type was expected. '
                    "Verify and try again.",
                    "parameters": [raw, "int"],
                },
            )
        if entity_id not in state:
            return _json_response(404, NOT_FOUND)
        return Response(state.order_json(entity_id), media_type="application/json")

    async def no_route(request: Request, exc: Exception) -> Response:
        return _json_response(404, NO_ROUTE)

    async def internal_error(request: Request, exc: Exception) -> Response:
        return _json_response(
            500,
            {
                "message": "Internal Error. Details are available in Magento log file. Report ID: %1",
                "parameters": ["webapi-sandbox"],
            },
        )

    routes = [
        Route(prefix + path, endpoint, methods=["GET"])
        for prefix in ("/rest", "/rest/{store_code}")
        for path, endpoint in (("/V1/orders", list_orders), ("/V1/orders/{order_id}", get_order))
    ]
    inventory = inventory if inventory is not None else InventoryState()
    routes += inventory_routes(inventory, refused)
    from trueup.sandbox.magento_msi import link_inventory

    link_inventory(state, inventory)  # ship, cancel and refund move reservations (trueup.sandbox.magento_msi)
    prices = prices if prices is not None else PriceState()
    routes += price_routes(prices, refused)
    # Products (trueup.sandbox.magento_catalog): the price store hears of each product created.
    if catalog is None:
        catalog = CatalogState()
        catalog.seed(prices.products)
    catalog.on_create = catalog.on_create or prices.products.add
    routes += catalog_routes(catalog, refused)
    # Shipments (ship, search, load, track): trueup.sandbox.magento_shipping.
    from trueup.sandbox.magento_shipping import shipping_routes

    routes += shipping_routes(state, refused, _json_body_response)
    # Credit memos (refund an order or an invoice, search, load): trueup.sandbox.magento_refunds.
    from trueup.sandbox.magento_refunds import refund_routes

    routes += refund_routes(state, refused, _json_body_response)
    # Invoices (invoice and capture, search): trueup.sandbox.magento_invoices.
    from trueup.sandbox.magento_invoices import invoice_routes

    routes += invoice_routes(state, refused, _json_body_response)
    faults = faults if faults is not None else Faults()
    app = Starlette(
        routes=[*fault_routes(faults), *routes],
        middleware=[Middleware(FaultsMiddleware, faults=faults, error_body=magento_error_body)],
        exception_handlers={HTTPException: no_route, Exception: internal_error},
    )
    app.state.magento = state
    app.state.gate = gate
    app.state.faults = faults
    app.state.inventory = inventory
    app.state.prices = prices
    app.state.catalog = catalog
    return app
