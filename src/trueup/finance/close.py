"""The month-end close: both systems' totals for the month, the variances and what is still unreconciled.

Built from the two `Books`, the reconciliation's findings and, when payout files were given, the settlement
matching. Every figure stays in integer minor units until it is written (close_render.py).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from trueup.checks import reconcile as r
from trueup.finance.settlements import Matching
from trueup.model.exceptions import REASONS, Reason

UNRECONCILED = (str(r.ORPHANED), str(r.UNKNOWN), str(r.NO_CREDIT))


def month_period(month: str) -> r.Period:
    """ "2026-10" → 1 to 31 October 2026."""
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise ValueError(f"--month wants YYYY-MM, got {month!r}")
    year, number = int(month[:4]), int(month[5:])
    if not 1 <= number <= 12:
        raise ValueError(f"--month {month}: no such month")
    return r.Period(date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1]))


@dataclass(frozen=True, slots=True)
class CloseReport:
    month: str
    by_day: pl.DataFrame  # day, currency, storefront/erp net, tax, gross, variance
    by_currency: pl.DataFrame
    by_rate: pl.DataFrame  # rate (%), currency, net, tax: from the invoice lines (storefront)
    variances: pl.DataFrame  # every finding with owner, status and the suggested journal
    findings_by_kind: dict[str, int]
    money_by_kind: dict[str, int]
    settlements: Matching | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def unreconciled(self) -> pl.DataFrame:
        return self.variances.filter(pl.col("reason").is_in(list(UNRECONCILED)))

    def summary(self) -> dict[str, object]:
        open_ = self.variances.filter(pl.col("status") == "open")
        return {
            "month": self.month,
            "findings_by_kind": self.findings_by_kind,
            "money_at_risk_minor": self.money_by_kind,
            "open": open_.height,
            "unreconciled": self.unreconciled.height,
            "fees_minor": {
                f"{p} {c}": v for (p, c), v in (self.settlements.fees if self.settlements else {}).items()
            },
            "notes": list(self.notes),
        }


def _in_period(docs: pl.DataFrame, period: r.Period) -> pl.DataFrame:
    return docs.filter(pl.col("posted_on").is_between(period.start, period.end))


def _signed(docs: pl.DataFrame) -> pl.DataFrame:
    """Credit notes count against the month's sales."""
    sign = pl.when(pl.col("kind") == r.CREDIT).then(-1).otherwise(1)
    return docs.with_columns(*(pl.col(c) * sign for c in ("net", "tax", "gross")))


def _totals(sf: pl.DataFrame, erp: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    def side(docs: pl.DataFrame, prefix: str) -> pl.DataFrame:
        return (
            _signed(docs)
            .group_by(by)
            .agg(*(pl.col(c).sum().alias(f"{prefix}_{c}") for c in ("net", "tax", "gross")))
        )

    out = side(sf, "storefront").join(side(erp, "erp"), on=by, how="full", coalesce=True).fill_null(0)
    return out.with_columns((pl.col("storefront_gross") - pl.col("erp_gross")).alias("variance")).sort(by)


def _shown(status: str) -> str:
    """A finding still waiting in the exception queue (parked, or to do) is open for the close."""
    return "open" if status in ("parked", "todo") else status


def build_close(
    month: str,
    storefront: r.Books,
    erp: r.Books,
    findings: pl.DataFrame,
    *,
    statuses: Mapping[tuple[str, str], str] | None = None,
    settlements: Matching | None = None,
    notes: Sequence[str] = (),
) -> CloseReport:
    """`statuses`: (reason, order id) → the finding's status in the exception queue (default "open")."""
    period = month_period(month)
    sf, er = _in_period(storefront.documents, period), _in_period(erp.documents, period)
    day = pl.col("posted_on").alias("day")
    by_day = _totals(sf.with_columns(day), er.with_columns(day), ["day", "currency"])
    by_currency = _totals(sf, er, ["currency"])
    if storefront.lines is not None:
        lines = storefront.lines.join(
            sf.filter(pl.col("kind") == r.INVOICE).select("order_id", "currency"), on="order_id"
        )
        by_rate = (
            lines.group_by("rate", "currency")
            .agg(pl.col("net").sum(), pl.col("tax").sum(), pl.len().alias("lines"))
            .with_columns((pl.col("rate") / 100).alias("rate"))
            .sort("currency", "rate")
        )
    else:
        by_rate = pl.DataFrame(
            schema={"rate": pl.Float64, "currency": pl.String, "net": pl.Int64, "tax": pl.Int64}
        )
    known = statuses or {}
    status = [
        _shown(known.get((reason, key), "open"))
        for reason, key in findings.select("reason", "order_id").iter_rows()
    ]
    reasons = findings["reason"].to_list()
    variances = findings.with_columns(
        pl.Series("status", status, dtype=pl.String),
        pl.Series("owner", [str(REASONS[Reason(x)].owner) for x in reasons], dtype=pl.String),
        pl.Series("journal", [r.JOURNALS.get(x, "") for x in reasons], dtype=pl.String),
    )
    return CloseReport(
        month,
        by_day,
        by_currency,
        by_rate,
        variances,
        r.counts(findings),
        r.money_by_kind(findings),
        settlements,
        tuple(notes),
    )
