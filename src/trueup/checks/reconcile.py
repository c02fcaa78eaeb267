"""The sales-to-ledger reconciliation engine: the storefront's books against the ERP's for a period.

Pure and columnar (Polars). Both sides arrive as `Books`: a frame of financial documents (invoices and
credit notes, one row each, money in integer minor units) and, where the side has them, a frame of invoice
lines. Documents are joined on the persistent key (the storefront order id) and kind, after summing the
documents of one order (an ERP that invoices per despatch posts several invoices for one order); lines are
joined on (order id, line number) for the orders whose lines both sides hold. Every difference becomes one
finding row, classified:

- `ledger_orphaned`: an order invoiced in the storefront with no ERP invoice;
- `ledger_unknown`: an ERP invoice or credit note for an order the storefront has no such document for;
- `ledger_net_mismatch`, `ledger_shipping_mismatch`, `ledger_discount_mismatch`: the totals differ beyond
  the tolerance (shipping and discount only where the ERP reports them);
- `ledger_tax_rounding`: tax differs by no more than rounding can explain (the rule that explains it is
  named when the storefront's lines and rates reproduce the ERP's figure), `ledger_tax_mismatch` beyond it;
- `ledger_sku_mismatch`, `ledger_quantity_mismatch`: a line differs in item, or is on one side only, or in
  quantity;
- `refund_without_credit_note`, `credit_note_mismatch`: a storefront refund the ERP has not credited, or
  credited with different totals.

Each finding carries the signed difference (storefront − ERP), the money at risk, the owner team and a
suggested journal. Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from trueup.model.exceptions import Reason

INVOICE = "invoice"
CREDIT = "credit_note"
MONEY = ("net", "tax", "shipping", "discount", "gross")

DOC_SCHEMA = pl.Schema(
    {
        "order_id": pl.String(),
        "kind": pl.String(),  # INVOICE | CREDIT
        "posted_on": pl.Date(),
        "currency": pl.String(),
        "net": pl.Int64(),  # everything before tax, shipping included, discounts taken off
        "tax": pl.Int64(),
        "shipping": pl.Int64(),  # null: this side does not report it
        "discount": pl.Int64(),
        "gross": pl.Int64(),
    }
)
LINE_SCHEMA = pl.Schema(
    {
        "order_id": pl.String(),
        "line_no": pl.Int32(),
        "sku": pl.String(),
        "qty": pl.Int64(),
        "net": pl.Int64(),
        "tax": pl.Int64(),
        "rate": pl.Int32(),  # hundredths of a percent: 20% is 2000
    }
)
FINDING_SCHEMA = pl.Schema(
    {
        "order_id": pl.String(),
        "reason": pl.String(),
        "line_no": pl.Int32(),  # null for a document-level finding
        "currency": pl.String(),
        "storefront": pl.Int64(),
        "erp": pl.Int64(),
        "difference": pl.Int64(),  # storefront − ERP, minor units
        "money_at_risk": pl.Int64(),
        "rule": pl.String(),
    }
)

ORPHANED = Reason.LEDGER_ORPHANED
UNKNOWN = Reason.LEDGER_UNKNOWN
NET = Reason.LEDGER_NET_MISMATCH
TAX = Reason.LEDGER_TAX_MISMATCH
ROUNDING = Reason.LEDGER_TAX_ROUNDING
SHIPPING = Reason.LEDGER_SHIPPING_MISMATCH
DISCOUNT = Reason.LEDGER_DISCOUNT_MISMATCH
SKU = Reason.LEDGER_SKU_MISMATCH
QUANTITY = Reason.LEDGER_QUANTITY_MISMATCH
NO_CREDIT = Reason.REFUND_WITHOUT_CREDIT_NOTE
CREDIT_DIFF = Reason.CREDIT_NOTE_MISMATCH
KINDS = (ORPHANED, UNKNOWN, NET, TAX, ROUNDING, SHIPPING, DISCOUNT, SKU, QUANTITY, NO_CREDIT, CREDIT_DIFF)

# The journal finance would post to clear each kind (the difference's sign says which way).
JOURNALS: dict[str, str] = {
    ORPHANED: "Raise the invoice: Dr Trade debtors (gross) / Cr Sales (net) / Cr VAT output (tax)",
    UNKNOWN: "Investigate; if not a web sale reclassify, else reverse: Dr Sales, Dr VAT output / Cr Debtors",
    NET: "Dr/Cr Sales against Trade debtors for the difference",
    TAX: "Dr/Cr VAT output against Trade debtors for the difference, after correcting the rate",
    ROUNDING: "Dr/Cr VAT rounding differences (P&L) against VAT output",
    SHIPPING: "Dr/Cr Carriage income against Trade debtors for the difference",
    DISCOUNT: "Dr/Cr Discounts allowed against Trade debtors for the difference",
    SKU: "No money journal when totals agree: correct the invoice lines (stock and cost of sales)",
    QUANTITY: "Correct the invoice quantity; Dr/Cr Cost of sales against Stock for the units",
    NO_CREDIT: "Raise the credit note: Dr Sales returns (net), Dr VAT output (tax) / Cr Trade debtors",
    CREDIT_DIFF: "Adjust the credit note: Dr/Cr Sales returns and VAT output against Trade debtors",
}


@dataclass(frozen=True, slots=True)
class Tolerances:
    """What counts as no difference, in minor units (`[checks.reconcile]` in the config)."""

    money_minor: int = 0  # net, shipping, discount, gross, credit notes
    tax_rounding_minor_per_line: int = 1  # tax within this × lines (at least once) is rounding
    quantity: int = 0


@dataclass(frozen=True, slots=True)
class Books:
    """One system's books for a period: documents, and invoice lines where the system reports them."""

    documents: pl.DataFrame
    lines: pl.DataFrame | None = None

    @classmethod
    def empty(cls) -> Books:
        return cls(pl.DataFrame(schema=DOC_SCHEMA), pl.DataFrame(schema=LINE_SCHEMA))


def _finding(
    frame: pl.DataFrame, reason: str, sf: pl.Expr, erp: pl.Expr, rule: pl.Expr | str
) -> pl.DataFrame:
    diff = sf.fill_null(0) - erp.fill_null(0)
    return frame.select(
        pl.col("order_id"),
        pl.lit(str(reason)).alias("reason"),
        (pl.col("line_no") if "line_no" in frame.columns else pl.lit(None)).cast(pl.Int32).alias("line_no"),
        pl.coalesce(pl.col("currency"), pl.col("currency_erp")).alias("currency"),
        sf.alias("storefront"),
        erp.alias("erp"),
        diff.alias("difference"),
        diff.abs().alias("money_at_risk"),
        (pl.lit(rule) if isinstance(rule, str) else rule).cast(pl.String).alias("rule"),
    )


def _fold(docs: pl.DataFrame) -> pl.DataFrame:
    """One row per order and kind: the sum of its documents (an ERP may invoice per despatch). Only the
    orders with more than one document are grouped; the rest pass through as they are."""
    dup = docs.select("order_id", "kind").hash_rows(3).is_duplicated()
    if not dup.any():
        return docs
    many = (
        docs.filter(dup)
        .group_by("order_id", "kind")
        .agg(
            pl.col("posted_on").min(),
            pl.col("currency").first(),
            *(pl.col(c).sum() if c not in ("shipping", "discount") else _nullable_sum(c) for c in MONEY),
        )
    )
    return pl.concat([docs.filter(~dup), many.select(docs.columns)])


def _unreported(frame: pl.DataFrame, column: str) -> bool:
    return frame.height > 0 and frame[column].null_count() == frame.height


def _nullable_sum(column: str) -> pl.Expr:
    return pl.when(pl.col(column).is_null().all()).then(None).otherwise(pl.col(column).sum()).alias(column)


def _differing(a: pl.DataFrame, b: pl.DataFrame, columns: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows of each side with no identical row on the other: a cheap pass over every row (a 64-bit
    fingerprint of the compared columns), so that the exact comparison runs on the differences only.
    Rows that agree on every compared column cannot differ; a differing row is missed only if its
    fingerprint equals another row's on the other side (odds about rows / 2^64). Documents are summed per
    order before this, so a document posted twice is a difference of totals; a line repeated identically
    on one side is not told apart here (its money shows in the document totals)."""
    ha, hb = a.select(columns).hash_rows(11), b.select(columns).hash_rows(11)
    return a.filter(~ha.is_in(hb.implode())), b.filter(~hb.is_in(ha.implode()))


def _line_rules(lines: pl.DataFrame) -> pl.DataFrame:
    """Per order, what the tax would be under each rounding rule an ERP may recalculate with."""
    raw = pl.col("net") * pl.col("rate")  # tax × 10,000
    return lines.group_by("order_id").agg(
        pl.len().alias("line_count"),
        _half_up(raw).sum().alias("per_line_half_up"),
        _half_even(raw).sum().alias("per_line_half_even"),
        _half_up(raw.sum()).alias("per_document_half_up"),
        _half_even(raw.sum()).alias("per_document_half_even"),
    )


def _half_up(scaled: pl.Expr) -> pl.Expr:
    """Round an amount × 10,000 to the minor unit, half away from zero."""
    return scaled.sign() * ((scaled.abs() + 5000) // 10000)


def _half_even(scaled: pl.Expr) -> pl.Expr:
    q, r = scaled.abs() // 10000, scaled.abs() % 10000
    up = (r > 5000) | ((r == 5000) & (q % 2 == 1))
    return scaled.sign() * (q + up.cast(pl.Int64))


RULE_NAMES = {
    "per_line_half_up": "per-line rounding, half up",
    "per_line_half_even": "per-line rounding, half even",
    "per_document_half_up": "per-document rounding, half up",
    "per_document_half_even": "per-document rounding, half even",
}


def _rounding_rule(erp_tax: pl.Expr) -> pl.Expr:
    """Name the rounding rule that reproduces the ERP's tax from the storefront's lines, if one does."""
    expr: pl.Expr = pl.lit("within the rounding tolerance; no single rule reproduces the ERP's figure")
    for column, name in reversed(RULE_NAMES.items()):
        expr = (
            pl.when(pl.col(column) == erp_tax).then(pl.lit(f"ERP recalculates tax by {name}")).otherwise(expr)
        )
    return expr


def _invoices(da: pl.DataFrame, db: pl.DataFrame, sf: Books, tol: Tolerances) -> list[pl.DataFrame]:
    a, b = da.filter(pl.col("kind") == INVOICE), db.filter(pl.col("kind") == INVOICE)
    joined = a.join(b, on="order_id", how="full", suffix="_erp", coalesce=True)
    left, right = joined.filter(pl.col("gross_erp").is_null()), joined.filter(pl.col("gross").is_null())
    both = joined.filter(pl.col("gross").is_not_null() & pl.col("gross_erp").is_not_null())
    out = [
        _finding(
            left, ORPHANED, pl.col("gross"), pl.lit(None, pl.Int64), "in the storefront, not in the ERP"
        ),
        _finding(
            right, UNKNOWN, pl.lit(None, pl.Int64), pl.col("gross_erp"), "ERP invoice, no storefront order"
        ),
    ]
    taxed = both.filter(pl.col("tax") != pl.col("tax_erp"))
    split: list[str] = []  # orders whose net differs only by the tax's rounding penny (gross agrees)
    if taxed.height:
        rules = (
            _line_rules(sf.lines.filter(pl.col("order_id").is_in(taxed["order_id"].implode())))
            if sf.lines is not None
            else pl.DataFrame(schema={"order_id": pl.String})
        )
        taxed = taxed.join(rules, on="order_id", how="left")
        if "line_count" not in taxed.columns:
            taxed = taxed.with_columns(
                pl.lit(1).alias("line_count"), *(pl.lit(None, pl.Int64).alias(c) for c in RULE_NAMES)
            )
        allowance = pl.max_horizontal(pl.col("line_count").fill_null(1), 1) * tol.tax_rounding_minor_per_line
        rounding = (pl.col("tax") - pl.col("tax_erp")).abs() <= allowance
        # An ERP that invoices a share of the order per despatch rounds each invoice's net and tax on its
        # own: a penny moves between net and tax while the gross agrees. That is rounding, not net sales.
        shifted = (pl.col("gross") == pl.col("gross_erp")) & (
            pl.col("net") - pl.col("net_erp") == pl.col("tax_erp") - pl.col("tax")
        )
        split = taxed.filter(rounding & shifted)["order_id"].to_list()
        rule = (
            pl.when(shifted & _rounding_rule(pl.col("tax_erp")).str.starts_with("within"))
            .then(
                pl.lit(
                    "a penny moved between net and tax, gross agrees: each invoice of a split rounded alone"
                )
            )
            .otherwise(_rounding_rule(pl.col("tax_erp")))
        )
        out.append(_finding(taxed.filter(rounding), ROUNDING, pl.col("tax"), pl.col("tax_erp"), rule))
        out.append(
            _finding(
                taxed.filter(~rounding),
                TAX,
                pl.col("tax"),
                pl.col("tax_erp"),
                "beyond rounding: rate or taxable amount differs",
            )
        )
    for column, reason in (("net", NET), ("shipping", SHIPPING), ("discount", DISCOUNT)):
        off = both.filter((pl.col(column) - pl.col(f"{column}_erp")).abs() > tol.money_minor)
        if column == "net" and split:
            off = off.filter(~pl.col("order_id").is_in(split))
        out.append(_finding(off, reason, pl.col(column), pl.col(f"{column}_erp"), f"{column} differs"))
    return out


def _credits(da: pl.DataFrame, db: pl.DataFrame, tol: Tolerances) -> list[pl.DataFrame]:
    a, b = da.filter(pl.col("kind") == CREDIT), db.filter(pl.col("kind") == CREDIT)
    joined = a.join(b, on="order_id", how="full", suffix="_erp", coalesce=True)
    off = (pl.col("net") - pl.col("net_erp")).abs().gt(tol.money_minor) | (
        pl.col("tax") - pl.col("tax_erp")
    ).abs().gt(tol.money_minor)
    return [
        _finding(
            joined.filter(pl.col("gross_erp").is_null()),
            NO_CREDIT,
            pl.col("gross"),
            pl.lit(None, pl.Int64),
            "storefront refund, no ERP credit note",
        ),
        _finding(
            joined.filter(pl.col("gross").is_null()),
            UNKNOWN,
            pl.lit(None, pl.Int64),
            pl.col("gross_erp"),
            "ERP credit note, no storefront refund",
        ),
        _finding(
            joined.filter(pl.col("gross").is_not_null() & pl.col("gross_erp").is_not_null() & off),
            CREDIT_DIFF,
            pl.col("gross"),
            pl.col("gross_erp"),
            "credit note totals differ",
        ),
    ]


def _lines(sf: Books, erp: Books, tol: Tolerances) -> list[pl.DataFrame]:
    if sf.lines is None or erp.lines is None:
        return []
    la, lb = _differing(sf.lines, erp.lines, ["order_id", "line_no", "sku", "qty"])
    joined = la.join(lb, on=["order_id", "line_no"], how="full", suffix="_erp", coalesce=True).filter(
        pl.col("sku").is_null()
        | pl.col("sku_erp").is_null()
        | (pl.col("sku") != pl.col("sku_erp"))
        | ((pl.col("qty") - pl.col("qty_erp")).abs() > tol.quantity)
    )
    # A line on one side only counts where the other side holds lines for the order at all: an order
    # missing on one side is a document finding already.
    orders = joined["order_id"].unique().implode()
    held_sf = sf.lines.filter(pl.col("order_id").is_in(orders))["order_id"].unique().implode()
    held_erp = erp.lines.filter(pl.col("order_id").is_in(orders))["order_id"].unique().implode()
    currency = (
        sf.documents.filter(pl.col("order_id").is_in(orders) & (pl.col("kind") == INVOICE))
        .group_by("order_id")
        .agg(pl.col("currency").first())
    )
    joined = (
        joined.filter(pl.col("order_id").is_in(held_sf) & pl.col("order_id").is_in(held_erp))
        .join(currency, on="order_id", how="left")
        .with_columns(pl.lit(None, pl.String).alias("currency_erp"))
    )
    gross, gross_erp = pl.col("net") + pl.col("tax"), pl.col("net_erp") + pl.col("tax_erp")
    sku_off = pl.col("sku").is_null() | pl.col("sku_erp").is_null() | (pl.col("sku") != pl.col("sku_erp"))
    skus, qtys = joined.filter(sku_off), joined.filter(~sku_off)
    sku_rule = (
        pl.when(pl.col("sku_erp").is_null())
        .then(pl.lit("line not in the ERP"))
        .when(pl.col("sku").is_null())
        .then(pl.lit("line only in the ERP"))
        .otherwise(pl.concat_str(pl.lit("storefront "), pl.col("sku"), pl.lit(", ERP "), pl.col("sku_erp")))
    )
    # Money at risk of a quantity difference: the units' share of the storefront line's gross.
    unit_risk = (gross * (pl.col("qty") - pl.col("qty_erp")).abs()) // pl.max_horizontal(pl.col("qty"), 1)
    qty = _finding(qtys, QUANTITY, pl.col("qty"), pl.col("qty_erp"), "quantity differs").with_columns(
        qtys.select(unit_risk.alias("money_at_risk")).to_series()
    )
    # A wrong or missing item puts the whole line at risk (stock and cost of sales), even if money agrees.
    sku = _finding(skus, SKU, gross, gross_erp, sku_rule).with_columns(
        skus.select(pl.coalesce(gross, gross_erp).alias("money_at_risk")).to_series()
    )
    return [sku, qty]


def reconcile(storefront: Books, erp: Books, tolerances: Tolerances = Tolerances()) -> pl.DataFrame:
    """Every difference between the two books, one row per finding (FINDING_SCHEMA)."""
    a, b = _fold(storefront.documents), _fold(erp.documents)
    # An ERP posts on its own day (not a difference); a column one side does not report is not compared.
    compared = [c for c in DOC_SCHEMA if c != "posted_on" and not (_unreported(a, c) or _unreported(b, c))]
    da, db = _differing(a, b, compared)
    parts = [*_invoices(da, db, storefront, tolerances), *_credits(da, db, tolerances)]
    parts += _lines(storefront, erp, tolerances)
    parts = [p.cast(FINDING_SCHEMA) for p in parts if p.height]
    if not parts:
        return pl.DataFrame(schema=FINDING_SCHEMA)
    return pl.concat(parts).sort("order_id", "reason", "line_no", nulls_last=False)


def counts(findings: pl.DataFrame) -> dict[str, int]:
    """Findings by kind (every kind present, zero where none)."""
    got = dict(findings.group_by("reason").len().iter_rows())
    return {str(k): int(got.get(str(k), 0)) for k in KINDS}


def money_by_kind(findings: pl.DataFrame) -> dict[str, int]:
    got = dict(findings.group_by("reason").agg(pl.col("money_at_risk").sum()).iter_rows())
    return {str(k): int(got.get(str(k), 0)) for k in KINDS}


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends {self.end} before it starts {self.start}")
