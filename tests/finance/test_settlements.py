"""Stripe and Adyen payout exports (their public column layouts), matched to storefront orders."""

from __future__ import annotations

from pathlib import Path

import pytest

from trueup.finance.settlements import Kind, SettlementFormatError, match, read_settlements

DATA = Path(__file__).parent / "data"


def test_stripe_balance_export_is_read_with_signed_minor_units_and_order_ids() -> None:
    rows = read_settlements(DATA / "stripe_balance_transactions.csv")
    assert [(r.kind, r.order_id, r.gross_minor, r.fee_minor) for r in rows] == [
        (Kind.CAPTURE, "100000001", 12000, 188),
        (Kind.CAPTURE, "100000002", 4550, 88),  # order id read from the description
        (Kind.REFUND, "100000001", -2000, 0),
        (Kind.CAPTURE, "999999999", 3000, 65),
        (Kind.CHARGEBACK, "100000002", -4550, 1500),
        (Kind.PAYOUT, "", -10000, 0),
    ]
    assert {r.currency for r in rows} == {"GBP"}


def test_adyen_settlement_details_are_read_with_fee_components() -> None:
    rows = read_settlements(DATA / "adyen_settlement_details.csv")
    assert [(r.kind, r.order_id, r.gross_minor, r.fee_minor, r.net_minor) for r in rows] == [
        (Kind.CAPTURE, "100000003", 8000, 80, 7920),
        (Kind.REFUND, "100000003", -1000, 0, -1000),
        (Kind.FEE, "", 0, 250, -250),
        (Kind.CAPTURE, "100000004", 9999, 100, 9899),
    ]


def test_matching_reports_unmatched_amount_differences_and_fee_totals() -> None:
    rows = read_settlements(DATA / "stripe_balance_transactions.csv") + read_settlements(
        DATA / "adyen_settlement_details.csv"
    )
    charged = {"100000001": 12000, "100000002": 4550, "100000003": 8000, "100000004": 10000}
    result = match(rows, charged, refunded={"100000001": 2000, "100000003": 1000})
    assert [(u.settlement.order_id, u.why) for u in result.unmatched] == [
        ("999999999", "order 999999999 is not a storefront order in the period")
    ]
    assert result.amount_differs == [("100000004", "EUR", 10000, 9999)]
    assert result.fees == {("stripe", "GBP"): 188 + 88 + 65 + 1500, ("adyen", "EUR"): 80 + 250 + 100}
    assert result.matched == 7  # captures, refunds and the chargeback of known orders


def test_a_file_that_is_neither_export_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "x.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(SettlementFormatError):
        read_settlements(other)
