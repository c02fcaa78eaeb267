"""The reconciliation engine on generated books with known injected differences, and on hand-built ones."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from trueup.checks import reconcile as r
from trueup.checks.reconcile_books import ledger_books
from trueup.checks.reconcile_sample import sample_books
from trueup.model.erp import LedgerEntry, LedgerKind

KEY = ["order_id", "reason", "line_no", "money_at_risk"]


def _found(findings: pl.DataFrame) -> pl.DataFrame:
    return findings.select(KEY).sort("order_id", "reason", "line_no", nulls_last=False)


@settings(max_examples=40, deadline=None)
@given(
    orders=st.integers(min_value=150, max_value=400),
    inject=st.fixed_dictionaries({str(k): st.integers(min_value=0, max_value=3) for k in r.KINDS}),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_finds_exactly_the_injected_differences_with_exact_money(
    orders: int, inject: dict[str, int], seed: int
) -> None:
    try:
        sample = sample_books(orders, inject, seed=seed)
    except ValueError:  # not enough refunded orders to inject refund differences into
        reject()
    findings = r.reconcile(sample.storefront, sample.erp)
    got, want = _found(findings), sample.expected
    assert got.equals(want), (got.join(want, on=KEY, how="anti"), want.join(got, on=KEY, how="anti"))
    assert r.counts(findings) == {str(k): n for k, n in inject.items()}
    # Document-level money at risk is the difference itself, to the penny.
    documents = findings.filter(pl.col("line_no").is_null())
    assert documents["difference"].abs().equals(documents["money_at_risk"])


def test_identical_books_have_no_findings() -> None:
    sample = sample_books(500, {}, seed=7)
    assert r.reconcile(sample.storefront, sample.erp).height == 0


def test_money_tolerance_absorbs_small_differences_only() -> None:
    inject = {str(r.NET): 5, str(r.CREDIT_DIFF): 2, str(r.ORPHANED): 2}
    sample = sample_books(400, inject, seed=3)
    lenient = r.reconcile(sample.storefront, sample.erp, r.Tolerances(money_minor=100))
    assert r.counts(lenient)[str(r.NET)] == 0 and r.counts(lenient)[str(r.CREDIT_DIFF)] == 0
    assert r.counts(lenient)[str(r.ORPHANED)] == 2


def _books(rows: list[dict[str, object]], lines: list[dict[str, object]] | None) -> r.Books:
    docs = pl.DataFrame(
        [
            {"posted_on": date(2026, 10, 3), "currency": "GBP", "shipping": None, "discount": None, **d}
            for d in rows
        ],
        schema=r.DOC_SCHEMA,
    )
    return r.Books(docs, None if lines is None else pl.DataFrame(lines, schema=r.LINE_SCHEMA))


def test_a_rounding_penny_is_labelled_with_the_rule_that_explains_it() -> None:
    # Three lines of 33p at 5%: rounded per line each is 2p (6p); on the document total 4.95p is 5p.
    lines = [
        {"order_id": "1", "line_no": n, "sku": f"S{n}", "qty": 1, "net": 33, "tax": 2, "rate": 500}
        for n in range(3)
    ]
    sf = _books([{"order_id": "1", "kind": r.INVOICE, "net": 99, "tax": 6, "gross": 105}], lines)
    erp = _books([{"order_id": "1", "kind": r.INVOICE, "net": 99, "tax": 5, "gross": 104}], None)
    found = r.reconcile(sf, erp).to_dicts()
    assert [(f["reason"], f["money_at_risk"], f["difference"]) for f in found] == [(str(r.ROUNDING), 1, 1)]
    assert found[0]["rule"] == "ERP recalculates tax by per-document rounding, half up"


def test_a_tax_difference_beyond_rounding_is_a_real_mismatch() -> None:
    lines = [{"order_id": "1", "line_no": 0, "sku": "S", "qty": 1, "net": 1000, "tax": 200, "rate": 2000}]
    sf = _books([{"order_id": "1", "kind": r.INVOICE, "net": 1000, "tax": 200, "gross": 1200}], lines)
    erp = _books([{"order_id": "1", "kind": r.INVOICE, "net": 1000, "tax": 50, "gross": 1050}], None)
    found = r.reconcile(sf, erp).to_dicts()
    assert {f["reason"] for f in found} == {str(r.TAX)}
    assert found[0]["money_at_risk"] == 150


def test_ledger_entries_become_books_and_despatch_invoices_sum_per_order() -> None:
    def entry(kind: LedgerKind, doc: str, net: str, tax: str) -> LedgerEntry:
        n, t = Decimal(net), Decimal(tax)
        return LedgerEntry(
            kind=kind,
            document_id=doc,
            order_id="100",
            posted_on=date(2026, 10, 5),
            currency="GBP",
            net=n,
            tax=t,
            gross=n + t,
        )

    erp = ledger_books(
        [
            entry(LedgerKind.INVOICE, "INV1", "6.00", "1.20"),
            entry(LedgerKind.INVOICE, "INV2", "4.00", "0.80"),
            entry(LedgerKind.CREDIT_NOTE, "CRN1", "-4.00", "-0.80"),
        ]
    )
    sf = _books(
        [
            {
                "order_id": "100",
                "kind": r.INVOICE,
                "net": 1000,
                "tax": 200,
                "gross": 1200,
                "shipping": 0,
                "discount": 0,
            },
            {"order_id": "100", "kind": r.CREDIT, "net": 400, "tax": 80, "gross": 480},
        ],
        None,
    )
    assert r.reconcile(sf, erp).height == 0
    sf_more = r.Books(sf.documents.with_columns(pl.col("net").replace(400, 500)), None)
    assert r.counts(r.reconcile(sf_more, erp))[str(r.CREDIT_DIFF)] == 1


def test_an_invoice_posted_twice_in_the_erp_is_a_difference() -> None:
    doc = {"order_id": "7", "kind": r.INVOICE, "net": 1000, "tax": 200, "gross": 1200}
    found = r.reconcile(_books([doc], None), _books([doc, doc], None))
    assert [(f["reason"], f["difference"]) for f in found.iter_rows(named=True)] == [
        (str(r.NET), -1000),
        (str(r.TAX), -200),
    ]


def test_a_penny_moved_between_net_and_tax_with_the_gross_agreeing_is_rounding_not_net_sales() -> None:
    # An ERP invoicing per despatch rounds each invoice's net and tax alone: 66.54 + 13.31 vs 66.55 + 13.30.
    sf = _books([{"order_id": "78", "kind": r.INVOICE, "net": 6654, "tax": 1331, "gross": 7985}], None)
    erp = _books([{"order_id": "78", "kind": r.INVOICE, "net": 6655, "tax": 1330, "gross": 7985}], None)
    (found,) = r.reconcile(sf, erp).to_dicts()
    assert (found["reason"], found["money_at_risk"]) == (str(r.ROUNDING), 1)
    assert "gross agrees" in found["rule"]
