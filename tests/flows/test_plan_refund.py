"""The refund planner (pure) and the Magento credit memo mapping: lines, VAT, shipping, adjustment and the
restock, from Magento's credit memo to the ERP's credit note."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from trueup.connectors.magento.client import OrderKey
from trueup.connectors.magento.creditmemos import memos_after, to_credit_memo
from trueup.flows.refunds import Post, RefundRules, Refused, plan_credit_note
from trueup.model.exceptions import Reason
from trueup.model.items import ErpItem

D = Decimal
ITEMS = {
    "MUG-1": ErpItem("MUG-1", "IT-1"),
    "TEE-M": ErpItem("TEE-M", "IT-2"),
    "GIFT": ErpItem("GIFT", "IT-3"),
}


def raw_memo(**over: Any) -> dict[str, Any]:
    memo: dict[str, Any] = {
        "entity_id": 7,
        "increment_id": "000000007",
        "order_id": 42,
        "created_at": "2026-11-29 10:00:00",
        "updated_at": "2026-11-29 10:00:05",
        "order_currency_code": "GBP",
        "shipping_incl_tax": D("4.95"),
        "shipping_tax_amount": D("0.83"),
        "shipping_amount": D("4.12"),
        "adjustment_positive": D("0"),
        "adjustment_negative": D("1.00"),
        "grand_total": D("31.95"),
        "items": [
            # a configurable's parent carries the money under its child's SKU; the child's zero line follows
            {"order_item_id": 1, "sku": "TEE-M", "qty": D(1), "row_total_incl_tax": D("18.00"),
             "discount_amount": D("0"), "tax_amount": D("3.00"),
             "extension_attributes": {"back_to_stock": True}},
            {"order_item_id": 2, "sku": "TEE-M", "qty": D(1), "row_total_incl_tax": D(0),
             "discount_amount": D(0), "tax_amount": D(0), "extension_attributes": {"back_to_stock": True}},
            {"order_item_id": 3, "sku": "MUG-1", "qty": D(2), "row_total_incl_tax": D("12.00"),
             "discount_amount": D("2.00"), "tax_amount": D("1.67")},
            {"order_item_id": 4, "sku": "GIFT", "qty": D(1), "row_total_incl_tax": D(0),
             "discount_amount": D(0), "tax_amount": D(0), "extension_attributes": {"back_to_stock": True}},
        ],
    }  # fmt: skip
    memo.update(over)
    return memo


def test_a_credit_memo_maps_to_lines_shipping_and_adjustment() -> None:
    memo = to_credit_memo(raw_memo(), "000000042")
    assert [(ln.sku, ln.qty, ln.gross, ln.net, ln.back_to_stock) for ln in memo.lines] == [
        ("TEE-M", 1, D("18.00"), D("15.00"), True),
        ("MUG-1", 2, D("10.00"), D("8.33"), False),
        ("GIFT", 1, D(0), D(0), True),  # a free gift returned is a line (and units) of its own
    ]
    assert (memo.shipping_gross, memo.shipping_tax, memo.adjustment) == (D("4.95"), D("0.83"), D("-1.00"))
    assert memo.restock_units == 2 and memo.order_id == "000000042" and memo.memo_id == "7"


def test_the_plan_is_a_credit_note_that_adds_up_and_the_restock() -> None:
    memo = to_credit_memo(raw_memo(), "000000042")
    plan = plan_credit_note(memo, "SO-9", ITEMS, RefundRules(location="WH1"))
    assert isinstance(plan, Post)
    note = plan.note
    assert note.external_id == "000000007" and note.erp_order_ref == "SO-9"
    lines = sum((ln.gross for ln in note.lines), D(0))
    assert lines + note.shipping_net + note.shipping_tax + note.adjustment == note.total == D("31.95")
    assert [ln.tax_rate for ln in note.lines] == [D("20.00"), D("20.05"), D(0)]
    assert [(a.sku, a.erp_item_id, a.delta, a.location, a.reference) for a in plan.restock] == [
        ("TEE-M", "IT-2", 1, "WH1", "000000007"),
        ("GIFT", "IT-3", 1, "WH1", "000000007"),
    ]


def test_an_unknown_sku_or_totals_that_do_not_add_up_refuse_the_plan() -> None:
    memo = to_credit_memo(raw_memo(), "000000042")
    unknown = plan_credit_note(memo, "SO-9", {"MUG-1": ITEMS["MUG-1"]}, RefundRules())
    assert isinstance(unknown, Refused) and unknown.reason == Reason.UNKNOWN_SKU
    off = to_credit_memo(raw_memo(grand_total=D("40.00")), "000000042")
    wrong = plan_credit_note(off, "SO-9", ITEMS, RefundRules())
    assert isinstance(wrong, Refused) and wrong.reason == Reason.TOTALS_MISMATCH
    mapped = plan_credit_note(memo, "SO-9", {**ITEMS, "ERP-MUG": ErpItem("ERP-MUG", "IT-9")},
                              RefundRules(sku_overrides={"MUG-1": "ERP-MUG"}))  # fmt: skip
    assert isinstance(mapped, Post) and mapped.note.lines[1].sku == "ERP-MUG"


def test_credit_memos_are_read_after_a_key_never_by_offset() -> None:
    key = OrderKey.parse("2026-11-29 10:00:05|7")
    assert key == OrderKey("2026-11-29 10:00:05", 7) and OrderKey.parse(key.cursor()) == key
    params = memos_after(key, 50)
    assert params["searchCriteria[currentPage]"] == "1"
    assert params["searchCriteria[filter_groups][1][filters][1][field]"] == "entity_id"
    assert OrderKey.parse(None) < key
    assert datetime.strptime(key.updated_at, "%Y-%m-%d %H:%M:%S")
