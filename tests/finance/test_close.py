"""The month-end close report: totals for both systems, variances with status, fees; XLSX and HTML."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from trueup.checks import reconcile as r
from trueup.checks.reconcile_sample import sample_books
from trueup.finance.close import build_close, month_period
from trueup.finance.close_render import write_html, write_xlsx
from trueup.finance.settlements import match, read_settlements

DATA = Path(__file__).parent / "data"


def test_month_period_is_the_calendar_month() -> None:
    assert (month_period("2026-02").start.day, month_period("2026-02").end.day) == (1, 28)
    with pytest.raises(ValueError):
        month_period("2026-13")


def test_close_report_totals_variances_and_fees(tmp_path: Path) -> None:
    inject = {str(r.ORPHANED): 2, str(r.NET): 3, str(r.ROUNDING): 1, str(r.NO_CREDIT): 1}
    sample = sample_books(400, inject, seed=5)
    findings = r.reconcile(sample.storefront, sample.erp)
    one = findings.filter(pl.col("reason") == str(r.NET))["order_id"][0]
    payouts = match(read_settlements(DATA / "stripe_balance_transactions.csv"), {"100000001": 12000})
    report = build_close(
        "2026-10",
        sample.storefront,
        sample.erp,
        findings,
        statuses={(str(r.NET), one): "resolved"},
        settlements=payouts,
    )
    # Both systems' month, by currency: the variance is exactly what the findings put at risk in gross.
    sf_gross = sample.storefront.documents.select(
        (pl.when(pl.col("kind") == r.CREDIT).then(-1).otherwise(1) * pl.col("gross")).sum()
    ).item()
    assert report.by_currency["storefront_gross"].sum() == sf_gross
    assert report.by_day["day"].min() >= month_period("2026-10").start
    assert report.findings_by_kind[str(r.NET)] == 3
    assert report.summary()["open"] == findings.height - 1
    assert report.unreconciled.height == 3
    assert set(report.by_rate["rate"].to_list()) <= {0.0, 5.0, 19.0, 20.0, 21.0}

    book = load_workbook(write_xlsx(report, tmp_path / "close.xlsx"))
    assert book.sheetnames[:4] == ["Summary", "By day", "By currency", "By tax rate"]
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=3, values_only=True)}
    assert summary[str(r.ORPHANED)] == 2 and summary[str(r.NET)] == 3
    assert book["Fees"].max_row == 2  # header + stripe GBP
    html = write_html(report, tmp_path / "close.html").read_text()
    assert html.count("<svg") == 2 and "ledger_net_mismatch" in html and "resolved" in html
