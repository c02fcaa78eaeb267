"""Shadow mode's pure comparison: each kind of difference, and its money at risk, exact in minor units."""

from __future__ import annotations

from decimal import Decimal

from trueup.checks.shadow import compare
from trueup.model.shadow import PostedLine, PostedOrder


def _order(key: str, **kw: object) -> PostedOrder:
    base: dict[str, object] = {
        "external_id": key,
        "currency": "GBP",
        "lines": (
            PostedLine(sku="A", qty=Decimal(2), gross=Decimal("24.00")),
            PostedLine(sku="B", qty=Decimal(1), gross=Decimal("6.00")),
        ),
        "tax_total": Decimal("5.00"),
        "shipping_gross": Decimal("3.95"),
        "grand_total": Decimal("33.95"),
        "ship_name": "Ann Lee",
        "ship_lines": ("1 High St",),
        "ship_postcode": "AB1 2CD",
        "ship_country": "GB",
        "carrier": "RM",
        "service": "TRACKED48",
    }
    return PostedOrder.model_validate(base | kw)


def test_identical_orders_agree_whatever_the_line_order() -> None:
    a = _order("1")
    b = _order("1", lines=tuple(reversed(a.lines)))
    assert compare({"1": a}, {"1": b}, {}) == []


def test_every_kind_with_its_money_at_risk() -> None:
    planned = {
        "m": _order("m"),
        "x": None,
        "q": _order("q"),
        "t": _order("t"),
        "g": _order("g"),
        "c": _order("c"),
    }
    posted = {
        "m": None,
        "x": _order("x"),
        "q": _order(
            "q", lines=(PostedLine(sku="A", qty=Decimal(3), gross=Decimal("24.00")), *_order("q").lines[1:])
        ),
        "t": _order("t", tax_total=Decimal("4.99"), grand_total=Decimal("33.94")),
        "g": _order("g", ship_postcode="ZZ9 9ZZ"),
        "c": _order("c", service="NEXTDAY"),
    }
    found = {(d.order_id, d.kind): d.money_at_risk_minor for d in compare(planned, posted, {"x": "reject"})}
    assert found == {
        ("m", "missing"): 3395,
        ("x", "extra"): 3395,
        ("q", "lines"): 800,  # one unit of three at 24.00 for the item
        ("t", "tax"): 1,
        ("t", "total"): 1,
        ("g", "address"): 3395,
        ("c", "carrier"): 395,
    }
