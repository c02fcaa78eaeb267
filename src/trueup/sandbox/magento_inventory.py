"""The sandbox Magento's inventory (MSI): sources, source items, reservations and salable quantity.

What it emulates, from Magento 2.4 and `contracts/magento/README.md`:
- `POST /V1/inventory/source-items` saves a batch whole or not at all: an unknown `source_code` fails it
  with 400 "Could not save Source Item"; an unknown SKU or a negative quantity is accepted (magento2#38154).
  The answer to a void service call is 200 with an empty body (`[]` here, as the REST layer writes it).
- Reservations live apart from source quantities: an order placed appends a negative reservation per SKU
  and stock, and saving a source quantity never touches them. Salable = Σ in-stock source quantities of the
  stock's sources + Σ reservations, and 0 once that is not positive.
- `GET /V1/inventory/source-items` with searchCriteria on sku, source_code, quantity, status (snake or
  camel spelling), sorted; `GET /V1/inventory/get-product-salable-quantity/{sku}/{stockId}`.
- Legacy `PUT /V1/products/{sku}/stockItems/{itemId}` sets the SKU's quantity at the `default` source.
- Async bulk: `POST /async/bulk/V1/inventory/source-items` answers 202 with a `bulk_uuid`, one operation per
  array element; `GET /V1/bulk/{uuid}/detailed-status` shows them open (4) on the first poll and run on the
  next: complete (1), failed (3, e.g. an unknown source), or a retriable failure (2) on demand.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_FIELDS = ("sku", "source_code", "quantity", "status")
_FILTER = re.compile(
    r"searchCriteria\[(?:filter_groups|filterGroups)\]\[(\d+)\]\[filters\]\[(\d+)\]"
    r"\[(field|value|condition_type|conditionType)\]"
)
_SORT = re.compile(r"searchCriteria\[(?:sort_orders|sortOrders)\]\[(\d+)\]\[(field|direction)\]")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gteq": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lteq": lambda a, b: a <= b,
}
BULK_TOPIC = "async.magento.inventoryapi.api.sourceitemssaveinterface.execute.post"
_INVALID = 'Invalid value of "%1" provided for the %2 field.'


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body).encode(), status_code=status, media_type="application/json")


@dataclass
class InventoryState:
    """Source items `(sku, source_code) -> [quantity, status]`, reservations, and which sources each stock
    sells from (stock 1, the default stock, sells from every source unless told otherwise)."""

    sources: set[str] = field(default_factory=lambda: {"default"})
    stock_sources: dict[int, set[str]] = field(default_factory=dict)
    items: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    reservations: list[tuple[str, int, int, str]] = field(default_factory=list)  # sku, stock, qty, order
    saves: int = 0  # source-item POSTs answered 200
    # Called while a save is being handled, after its body is read and before it is applied: a test's
    # checkout "during a push".
    during_save: list[Callable[[], None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Async bulk: uuid -> operations. An operation runs on the status poll after the one that first saw it
    # open (Magento's consumers run later); SKUs in `bulk_fail_once` fail their first run with status 2.
    bulks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    bulk_fail_once: set[str] = field(default_factory=set)
    next_operation: int = 1

    def sources_of(self, stock_id: int) -> set[str]:
        return self.stock_sources.get(stock_id, self.sources if stock_id == 1 else set())

    def place_order(self, sku: str, qty: int, *, stock_id: int = 1, order: str = "") -> None:
        """A checkout: Magento appends a reservation; source quantities are untouched until shipment."""
        with self.lock:
            self.reservations.append((sku, stock_id, -qty, order))

    def set_quantity(self, sku: str, source_code: str, quantity: int) -> None:
        """An admin edits a source quantity by hand (drift, as the storefront sees it)."""
        with self.lock:
            self.items[(sku, source_code)] = [quantity, int(quantity > 0)]

    def quantity(self, sku: str, source_code: str) -> int | None:
        item = self.items.get((sku, source_code))
        return None if item is None else item[0]

    def reserved(self, sku: str, stock_id: int = 1) -> int:
        return -sum(q for s, st, q, _ in self.reservations if s == sku and st == stock_id)

    def salable(self, sku: str, stock_id: int = 1) -> int:
        sources = self.sources_of(stock_id)
        on_sale = sum(q for (s, c), (q, status) in self.items.items() if s == sku and c in sources and status)
        return max(0, on_sale - self.reserved(sku, stock_id))

    def save(self, rows: Iterable[dict[str, Any]]) -> str | None:
        """Save source items all or nothing; the error message if refused."""
        parsed: list[tuple[str, str, int, int]] = []
        for row in rows:
            code = str(row.get("source_code", ""))
            if code not in self.sources:
                return "Could not save Source Item"
            try:
                qty = int(Decimal(str(row.get("quantity", 0))))
            except InvalidOperation:
                return "Could not save Source Item"
            parsed.append((str(row.get("sku", "")), code, qty, int(row.get("status", int(qty > 0)))))
        for hook in list(self.during_save):
            hook()
        with self.lock:
            for sku, code, qty, status in parsed:
                self.items[(sku, code)] = [qty, status]
            self.saves += 1
        return None

    def submit_bulk(self, bodies: list[Any]) -> dict[str, Any]:
        """`POST /async/bulk/V1/inventory/source-items`: one operation per array element, all open."""
        bulk_uuid = str(uuid.uuid4())
        ops = []
        items = []
        with self.lock:
            for i, body in enumerate(bodies):
                rows = body.get("sourceItems") if isinstance(body, dict) else None
                data = json.dumps(body, sort_keys=True)
                items.append(
                    {
                        "id": i,
                        "data_hash": hashlib.sha256(data.encode()).hexdigest(),
                        "status": "accepted" if isinstance(rows, list) else "rejected",
                    }
                )
                if isinstance(rows, list):
                    ops.append(
                        {
                            "id": self.next_operation,
                            "bulk_uuid": bulk_uuid,
                            "topic_name": BULK_TOPIC,
                            "serialized_data": data,
                            "result_serialized_data": None,
                            "status": 4,
                            "result_message": None,
                            "error_code": None,
                            "_rows": rows,
                            "_seen": False,
                        }
                    )
                    self.next_operation += 1
            self.bulks[bulk_uuid] = ops
        return {
            "bulk_uuid": bulk_uuid,
            "request_items": items,
            "errors": any(i["status"] == "rejected" for i in items),
        }

    def bulk_status(self, bulk_uuid: str) -> dict[str, Any] | None:
        ops = self.bulks.get(bulk_uuid)
        if ops is None:
            return None
        for op in ops:
            if op["status"] != 4:
                continue
            if not op["_seen"]:
                op["_seen"] = True  # still open on this poll: run on the next
                continue
            failing = [r for r in op["_rows"] if r.get("sku") in self.bulk_fail_once]
            if failing:
                self.bulk_fail_once -= {r.get("sku") for r in failing}
                op.update(status=2, result_message="Deadlock found when trying to get lock", error_code=0)
                continue
            error = self.save(op["_rows"])
            op.update(status=3 if error else 1, result_message=error or "", error_code=0 if error else None)
        return {
            "operations_list": [{k: v for k, v in op.items() if not k.startswith("_")} for op in ops],
            "user_type": 2,
            "bulk_id": bulk_uuid,
            "description": f"Topic {BULK_TOPIC}",
            "start_time": "2026-11-23 09:00:00",
            "user_id": None,
            "operation_count": len(ops),
        }

    def search(self, params: list[tuple[str, str]]) -> tuple[list[dict[str, Any]], dict[str, Any]] | str:
        groups: dict[int, dict[int, dict[str, str]]] = {}
        sorts: dict[int, dict[str, str]] = {}
        size, page = 0, 1
        for key, value in params:
            if m := _FILTER.fullmatch(key):
                part = "condition_type" if m[3] == "conditionType" else m[3]
                groups.setdefault(int(m[1]), {}).setdefault(int(m[2]), {})[part] = value
            elif m := _SORT.fullmatch(key):
                sorts.setdefault(int(m[1]), {})[m[2]] = value
            elif key in ("searchCriteria[pageSize]", "searchCriteria[page_size]"):
                size = int(value)
            elif key in ("searchCriteria[currentPage]", "searchCriteria[current_page]"):
                page = int(value)
        tests: list[list[Callable[[dict[str, Any]], bool]]] = []
        echo_groups = []
        for _, group in sorted(groups.items()):
            row_tests: list[Callable[[dict[str, Any]], bool]] = []
            echo: list[dict[str, str]] = []
            for _, spec in sorted(group.items()):
                name, cond = spec.get("field", ""), spec.get("condition_type") or "eq"
                if name not in _FIELDS:
                    return name
                if cond not in _OPS:
                    return cond
                raw = spec.get("value", "")
                want: Any = int(raw) if name in ("quantity", "status") else raw
                row_tests.append(_test(name, _OPS[cond], want))
                echo.append({"field": name, "value": raw, "condition_type": cond})
            tests.append(row_tests)
            echo_groups.append({"filters": echo})
        with self.lock:
            rows = [
                {"sku": s, "source_code": c, "quantity": q, "status": st}
                for (s, c), (q, st) in self.items.items()
            ]
        rows = [r for r in rows if all(any(t(r) for t in group) for group in tests)]
        order = [(spec["field"], spec.get("direction", "ASC").upper()) for _, spec in sorted(sorts.items())]
        for name, direction in reversed(order):
            if name not in _FIELDS:
                return name
            rows.sort(key=_field(name), reverse=direction == "DESC")
        total = len(rows)
        criteria: dict[str, Any] = {"filter_groups": echo_groups}
        if size:
            start = min((page - 1) * size, max(0, ((total - 1) // size) * size))  # 2.3: last page again
            rows = rows[start : start + size]
            criteria |= {"page_size": size, "current_page": page}
        return rows, criteria | {"total": total}


def _test(name: str, op: Callable[[Any, Any], bool], want: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda row: op(row[name], want)


def _field(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: row[name]


def inventory_routes(state: InventoryState, refused: Callable[[Request], Response | None]) -> list[Route]:
    async def save_items(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        body = await request.json()
        rows = body.get("sourceItems") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            return _json(
                400,
                {
                    "message": '"%fieldName" is required. Enter and try again.',
                    "parameters": {"fieldName": "sourceItems"},
                },
            )
        error = state.save(rows)
        return _json(400, {"message": error, "parameters": []}) if error else _json(200, [])

    async def list_items(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        found = state.search(list(request.query_params.multi_items()))
        if isinstance(found, str):
            return _json(400, {"message": _INVALID, "parameters": [found, "field"]})
        rows, criteria = found
        total = criteria.pop("total")
        return _json(200, {"items": rows, "search_criteria": criteria, "total_count": total})

    async def salable(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            stock_id = int(request.path_params["stock_id"])
        except ValueError:
            return _json(
                400, {"message": _INVALID, "parameters": [request.path_params["stock_id"], "stockId"]}
            )
        return _json(200, state.salable(request.path_params["sku"], stock_id))

    async def legacy_stock_item(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        body = await request.json()
        item = body.get("stockItem") if isinstance(body, dict) else None
        if not isinstance(item, dict) or "qty" not in item:
            return _json(
                400,
                {
                    "message": '"%fieldName" is required. Enter and try again.',
                    "parameters": {"fieldName": "stockItem"},
                },
            )
        sku = request.path_params["sku"]
        qty = int(Decimal(str(item["qty"])))
        error = state.save(
            [
                {
                    "sku": sku,
                    "source_code": "default",
                    "quantity": qty,
                    "status": int(bool(item.get("is_in_stock", qty > 0))),
                }
            ]
        )
        if error:
            return _json(400, {"message": error, "parameters": []})
        return _json(200, 1)

    async def submit_bulk(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        body = await request.json()
        if not isinstance(body, list):
            return _json(400, {"message": "Request body is expected to be an array.", "parameters": []})
        return _json(202, state.submit_bulk(body))

    async def bulk_status(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        found = state.bulk_status(request.path_params["bulk_uuid"])
        if found is None:
            return _json(
                404,
                {
                    "message": "Bulk uuid %bulkUuid not exist",
                    "parameters": {"bulkUuid": request.path_params["bulk_uuid"]},
                },
            )
        return _json(200, found)

    paths = (
        ("/async/bulk/V1/inventory/source-items", submit_bulk, "POST"),
        ("/V1/bulk/{bulk_uuid}/detailed-status", bulk_status, "GET"),
        ("/V1/inventory/source-items", save_items, "POST"),
        ("/V1/inventory/source-items", list_items, "GET"),
        ("/V1/inventory/get-product-salable-quantity/{sku}/{stock_id}", salable, "GET"),
        ("/V1/products/{sku}/stockItems/{item_id}", legacy_stock_item, "PUT"),
    )
    return [
        Route(prefix + path, endpoint, methods=[method])
        for prefix in ("/rest", "/rest/{store_code}")
        for path, endpoint, method in paths
    ]
