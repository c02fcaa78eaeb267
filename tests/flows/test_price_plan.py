"""The price planner (pure, Polars): the storefront currency only, one canonical spelling per amount, and
only prices that changed."""

from __future__ import annotations

from decimal import Decimal

from trueup.flows.price_plan import cut_price_batches, plan_prices, price_frame, rows_frame
from trueup.model.erp import ItemPrice, PriceKind
from trueup.model.prices import ALL_GROUPS, canonical

D = Decimal


def test_only_changed_prices_in_the_store_currency_are_planned() -> None:
    listed = price_frame(
        [
            ItemPrice(sku="A", currency="GBP", price=D("19.9")),
            ItemPrice(sku="A", currency="EUR", price=D("23.00")),  # not the store's currency
            ItemPrice(sku="B", currency="GBP", price=D("5.00")),
            ItemPrice(sku="B", currency="GBP", price=D("4.50"), kind=PriceKind.SPECIAL),
            ItemPrice(
                sku="C",
                currency="GBP",
                price=D("9.00"),
                kind=PriceKind.TIER,
                customer_group="Trade",
                min_qty=10,
            ),
        ],
        "GBP",
    )
    pushed = rows_frame(
        [
            ("A", "base", ALL_GROUPS, 1, canonical(D("19.90"))),  # same amount, other spelling: unchanged
            ("B", "base", ALL_GROUPS, 1, canonical(D("5.50"))),
        ]
    )
    changes = plan_prices(listed, pushed)
    assert list(changes.iter_rows()) == [
        ("B", "base", ALL_GROUPS, 1, "5.0000"),
        ("B", "special", ALL_GROUPS, 1, "4.5000"),
        ("C", "tier", "Trade", 10, "9.0000"),
    ]
    assert plan_prices(listed, pushed, full=True).height == 4
    batches = cut_price_batches(changes, 2)
    assert sorted(r for _, _, rows in batches for r in rows) == sorted(changes.iter_rows())
    assert all(len(rows) <= 2 for _, _, rows in batches)
