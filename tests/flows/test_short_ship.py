"""Short shipments: what a closing despatch leaves unshipped is pure arithmetic; settling it raises one
exception, or refunds once however often the despatch is retried (in-process fakes: unit-level edge cases;
the real path runs in tests/e2e/test_short_shipments_cli.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from trueup.errors import Skippable
from trueup.flows.short_ship import ShortShipments, short_lines
from trueup.model.erp import Despatch, DespatchLine
from trueup.model.exceptions import Reason
from trueup.model.shipments import ShipLine, ShipmentItem, ShippableOrder
from trueup.model.work import InputRejection

ORDER = ShippableOrder(
    order_id="000000009",
    entity_id="9",
    state="processing",
    status="processing",
    currency="GBP",
    lines=(
        ShipLine(line_id="1", sku="TEE", qty_ordered=3, unit_minor=1250),
        ShipLine(line_id="2", sku="MUG", qty_ordered=1, qty_shipped=1, unit_minor=800),
        ShipLine(line_id="3", sku="CAP", qty_ordered=2, qty_cancelled=1, unit_minor=999),
    ),
)


def despatch(closes: bool) -> Despatch:
    return Despatch(
        despatch_id="DN-9",
        order_id="000000009",
        despatched_at=datetime(2026, 11, 29, 10, 0),
        carrier="RM",
        lines=(DespatchLine(sku="TEE", qty=2),),
        closes_order=closes,
    )


class Queue:
    def __init__(self) -> None:
        self.parked: dict[str, InputRejection] = {}  # by key, as the store takes a key once

    async def park_rejections(self, rejections: Sequence[InputRejection]) -> int:
        for r in rejections:
            self.parked.setdefault(f"{r.source}:{r.key}", r)
        return len(rejections)


class Refunder:
    name = "magento"

    def __init__(self, refuse: bool = False) -> None:
        self.memos: list[tuple[str, tuple[ShipmentItem, ...], str]] = []
        self.refuse = refuse

    async def find_refund(self, entity_id: str, marker: str) -> str | None:
        found = [n for n, (e, _, c) in enumerate(self.memos, 1) if e == entity_id and marker in c]
        return str(found[0]) if found else None

    async def refund_offline(
        self, entity_id: str, items: Sequence[ShipmentItem], comment: str, *, notify: bool
    ) -> str:
        if self.refuse:
            raise Skippable(Reason.SHORT_SHIPMENT_REFUND_REFUSED, "Magento answered 400: not invoiced.")
        self.memos.append((entity_id, tuple(items), comment))
        return str(len(self.memos))


def test_what_is_left_after_this_shipment_is_short() -> None:
    short = short_lines(ORDER, [ShipmentItem(line_id="1", qty=2)])
    assert [(s.line_id, s.qty, s.minor) for s in short] == [("1", 1, 1250), ("3", 1, 999)]
    # a linked shipment is counted in qty_shipped already
    assert [s.qty for s in short_lines(ORDER, [])] == [3, 1]


def test_a_short_close_is_one_exception_for_ecommerce_with_units_and_money() -> None:
    queue = Queue()
    short = ShortShipments(queue, source="rest")  # type: ignore[arg-type]
    shipping = [ShipmentItem(line_id="1", qty=2)]
    note = asyncio.run(short.settle("rest:DN-9", despatch(True), ORDER, shipping))
    again = asyncio.run(short.settle("rest:DN-9", despatch(True), ORDER, shipping))  # a retry
    assert "an exception for e-commerce" in note and note == again
    (rejection,) = queue.parked.values()
    assert rejection.reason == Reason.SHORT_SHIPMENT and rejection.key == "short:rest:DN-9"
    assert (rejection.impact_minor, rejection.currency) == (2249, "GBP")
    assert "2 unit(s) never shipped (1 x TEE, 1 x CAP), 22.49 GBP to refund" in rejection.message
    assert "Resolution:" in rejection.message


def test_a_despatch_that_does_not_close_the_order_is_not_short() -> None:
    queue = Queue()
    note = asyncio.run(ShortShipments(queue).settle("k", despatch(False), ORDER, []))  # type: ignore[arg-type]
    assert note == "" and queue.parked == {}


def test_credit_memo_mode_refunds_the_missing_units_once_across_retries() -> None:
    queue, refunder = Queue(), Refunder()
    short = ShortShipments(queue, mode="credit_memo", refunder=refunder)  # type: ignore[arg-type]
    shipping = [ShipmentItem(line_id="1", qty=2)]
    first = asyncio.run(short.settle("rest:DN-9", despatch(True), ORDER, shipping))
    # the process died before the despatch was recorded Done: the retry finds the memo by its marker
    second = asyncio.run(short.settle("rest:DN-9", despatch(True), ORDER, shipping))
    assert len(refunder.memos) == 1 and queue.parked == {}
    entity, items, comment = refunder.memos[0]
    assert entity == "9" and [(i.line_id, i.qty) for i in items] == [("1", 1), ("3", 1)]
    assert "[short:rest:DN-9]" in comment
    assert "credit memo 1" in first and "credit memo 1" in second


def test_a_refused_credit_memo_is_an_exception_for_finance() -> None:
    queue = Queue()
    short = ShortShipments(queue, mode="credit_memo", refunder=Refunder(refuse=True))  # type: ignore[arg-type]
    asyncio.run(short.settle("rest:DN-9", despatch(True), ORDER, [ShipmentItem(line_id="1", qty=2)]))
    (rejection,) = queue.parked.values()
    assert rejection.reason == Reason.SHORT_SHIPMENT_REFUND_REFUSED and rejection.impact_minor == 2249
