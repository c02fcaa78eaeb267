"""Generated books with known differences: the property tests, the benchmark and the demo use them.

`sample_books(orders, inject, seed)` builds a storefront's month (orders with 1–4 lines, UK and EU rates,
shipping, discounts, refunds on some orders), copies it as the ERP's ledger (splitting some invoices in two,
as an ERP that invoices per despatch does), then injects exactly `inject[reason]` differences of each kind
into disjoint orders. It returns both books and the findings the engine must report: order id, reason,
line number and money at risk, exact in minor units. Deterministic for a seed; columnar, so a million orders
take seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import polars as pl

from trueup.checks import reconcile as r

RATES = (2000, 2000, 2000, 500, 0, 1900, 2100)  # UK standard ×3, reduced, zero; DE, NL (hundredths of %)


@dataclass(frozen=True, slots=True)
class Sample:
    storefront: r.Books
    erp: r.Books
    expected: pl.DataFrame  # order_id, reason, line_no, money_at_risk


def _rand(column: str, seed: int, modulo: int) -> pl.Expr:
    return (pl.col(column).hash(seed) % modulo).cast(pl.Int64)


def sample_books(
    orders: int, inject: Mapping[str, int], seed: int = 0, start: date = date(2026, 10, 1), days: int = 31
) -> Sample:
    base = pl.DataFrame({"i": pl.int_range(0, orders, eager=True)}).with_columns(
        pl.format("W{}", pl.col("i") + 100_000_000).alias("order_id"),
        (_rand("i", seed, 4) + 1).alias("n_lines"),
        (pl.lit(start) + pl.duration(days=_rand("i", seed + 1, days))).alias("posted_on"),
        pl.when(_rand("i", seed + 2, 10) == 0).then(pl.lit("EUR")).otherwise(pl.lit("GBP")).alias("currency"),
        (_rand("i", seed + 3, 3) * 199).alias("shipping"),
        pl.when(_rand("i", seed + 4, 5) == 0)
        .then(_rand("i", seed + 5, 500) + 1)
        .otherwise(0)
        .alias("discount"),
    )
    lines = (
        base.select("i", "order_id", pl.int_ranges(0, pl.col("n_lines"), dtype=pl.Int32).alias("line_no"))
        .explode("line_no")
        .with_columns((pl.col("i") * 4 + pl.col("line_no")).alias("k"))
        .with_columns(
            pl.format("SKU-{}", _rand("k", seed + 6, 50_000)).alias("sku"),
            (_rand("k", seed + 7, 3) + 1).alias("qty"),
            pl.lit(pl.Series(RATES, dtype=pl.Int32)).gather(_rand("k", seed + 8, len(RATES))).alias("rate"),
        )
        .with_columns((pl.col("qty") * (_rand("k", seed + 9, 9900) + 100)).alias("net"))
        .with_columns(((pl.col("net") * pl.col("rate") + 5000) // 10000).alias("tax"))
    )
    totals = lines.group_by("i").agg(pl.col("net").sum().alias("goods"), pl.col("tax").sum())
    invoices = (
        base.join(totals, on="i")
        .with_columns(
            pl.lit(r.INVOICE).alias("kind"),
            (pl.col("goods") + pl.col("shipping")).alias("net"),
        )
        .with_columns((pl.col("net") + pl.col("tax")).alias("gross"))
    )
    first = lines.filter(pl.col("line_no") == 0).select(
        "i", pl.col("net").alias("cn_net"), pl.col("tax").alias("cn_tax")
    )
    credits = (
        invoices.filter(_rand("i", seed + 10, 20) == 0)
        .join(first, on="i")
        .select(
            "i",
            "order_id",
            pl.lit(r.CREDIT).alias("kind"),
            "posted_on",
            "currency",
            pl.col("cn_net").alias("net"),
            pl.col("cn_tax").alias("tax"),
            pl.lit(None, pl.Int64).alias("shipping"),
            pl.lit(None, pl.Int64).alias("discount"),
            (pl.col("cn_net") + pl.col("cn_tax")).alias("gross"),
        )
    )
    docs = pl.concat([invoices.select("i", *r.DOC_SCHEMA), credits.select("i", *r.DOC_SCHEMA)]).cast(
        r.DOC_SCHEMA
    )
    return _inject(base, docs, lines, dict(inject), seed)


def _inject(
    base: pl.DataFrame, docs: pl.DataFrame, lines: pl.DataFrame, inject: dict[str, int], seed: int
) -> Sample:
    n = base.height
    credited = set(docs.filter(pl.col("kind") == r.CREDIT)["i"].to_list())
    order = pl.Series(range(n)).shuffle(seed=seed).to_list()
    with_credit = [i for i in order if i in credited]
    without = [i for i in order if i not in credited]
    needs_credit = {str(r.NO_CREDIT), str(r.CREDIT_DIFF)}
    picks: dict[str, list[int]] = {}
    for reason, count in inject.items():
        if reason == r.UNKNOWN:
            continue
        pool = with_credit if reason in needs_credit else without
        if len(pool) < count:
            raise ValueError(f"not enough orders to inject {count} {reason}")
        picks[reason], pool[:] = pool[:count], pool[count:]
    split = without[: len(without) // 10]  # invoiced per despatch: two ERP documents, same sum

    sf_docs, sf_lines = docs, lines
    erp_docs, erp_lines = docs.clone(), lines.clone()
    exp: list[pl.DataFrame] = []
    inv = pl.col("kind") == r.INVOICE

    def chosen(reason: str) -> pl.Expr:
        return pl.col("i").is_in(picks.get(reason, []))

    def expect(frame: pl.DataFrame, reason: str, risk: pl.Expr, line: pl.Expr | None = None) -> None:
        exp.append(
            frame.select(
                "order_id",
                pl.lit(str(reason)).alias("reason"),
                (line if line is not None else pl.lit(None)).cast(pl.Int32).alias("line_no"),
                risk.cast(pl.Int64).alias("money_at_risk"),
            )
        )

    orph = chosen(r.ORPHANED)
    expect(sf_docs.filter(inv & orph), r.ORPHANED, pl.col("gross"))
    erp_docs = erp_docs.filter(~(inv & orph))
    erp_lines = erp_lines.filter(~orph)

    delta = pl.col("i") % 7 + 2  # beyond any zero tolerance
    for reason, column in ((r.NET, "net"), (r.SHIPPING, "shipping"), (r.DISCOUNT, "discount")):
        hit = inv & chosen(reason)
        expect(erp_docs.filter(hit), reason, delta)
        erp_docs = erp_docs.with_columns(
            pl.when(hit).then(pl.col(column) + delta).otherwise(pl.col(column)).alias(column)
        )
    counts = lines.group_by("i").len("n")
    erp_docs = erp_docs.join(counts, on="i", how="left")
    for reason, d in ((r.ROUNDING, pl.lit(1)), (r.TAX, pl.col("n") + 1 + pl.col("i") % 5)):
        hit = inv & chosen(reason)
        expect(erp_docs.filter(hit), reason, d)
        erp_docs = erp_docs.with_columns(
            pl.when(hit).then(pl.col("tax") - d).otherwise(pl.col("tax")).alias("tax")
        )
    erp_docs = erp_docs.drop("n")
    cn = pl.col("kind") == r.CREDIT
    expect(sf_docs.filter(cn & chosen(r.NO_CREDIT)), r.NO_CREDIT, pl.col("gross"))
    erp_docs = erp_docs.filter(~(cn & chosen(r.NO_CREDIT)))
    hit = cn & chosen(r.CREDIT_DIFF)
    expect(erp_docs.filter(hit), r.CREDIT_DIFF, delta)
    erp_docs = erp_docs.with_columns(
        pl.when(hit).then(pl.col("net") - delta).otherwise(pl.col("net")).alias("net"),
        pl.when(hit).then(pl.col("gross") - delta).otherwise(pl.col("gross")).alias("gross"),
    )
    first = pl.col("line_no") == 0
    hit = first & chosen(r.SKU)
    expect(erp_lines.filter(hit), r.SKU, pl.col("net") + pl.col("tax"), pl.col("line_no"))
    erp_lines = erp_lines.with_columns(
        pl.when(hit).then(pl.col("sku") + "-X").otherwise(pl.col("sku")).alias("sku")
    )
    hit = first & chosen(r.QUANTITY)
    expect(
        erp_lines.filter(hit), r.QUANTITY, (pl.col("net") + pl.col("tax")) // pl.col("qty"), pl.col("line_no")
    )
    erp_lines = erp_lines.with_columns(
        pl.when(hit).then(pl.col("qty") + 1).otherwise(pl.col("qty")).alias("qty")
    )

    unknown = inject.get(r.UNKNOWN, 0)
    if unknown:
        extra = (
            sf_docs.filter(inv)
            .head(unknown)
            .with_columns(pl.format("X{}", pl.col("order_id")).alias("order_id"))
        )
        expect(extra, r.UNKNOWN, pl.col("gross"))
        erp_docs = pl.concat([erp_docs, extra])
    halves = erp_docs.filter(inv & pl.col("i").is_in(split))
    erp_docs = pl.concat(
        [
            erp_docs.filter(~(inv & pl.col("i").is_in(split))),
            *(halves.with_columns(*(_half(c, part) for c in r.MONEY)) for part in (0, 1)),
        ]
    )
    schema = pl.Schema(
        {
            "order_id": pl.String(),
            "reason": pl.String(),
            "line_no": pl.Int32(),
            "money_at_risk": pl.Int64(),
        }
    )
    expected = pl.concat(exp).cast(schema) if exp else pl.DataFrame(schema=schema)
    return Sample(
        r.Books(sf_docs.drop("i"), sf_lines.select(*r.LINE_SCHEMA).cast(r.LINE_SCHEMA)),
        r.Books(erp_docs.drop("i"), erp_lines.select(*r.LINE_SCHEMA).cast(r.LINE_SCHEMA)),
        expected.sort("order_id", "reason", "line_no", nulls_last=False),
    )


def _half(column: str, part: int) -> pl.Expr:
    """One of two despatch invoices: the first takes half (rounded down), the second the rest."""
    first = pl.col(column) // 2
    return (first if part == 0 else pl.col(column) - first).alias(column)
