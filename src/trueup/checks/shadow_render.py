"""Shadow mode's cutover report: JSON (summary and every difference), CSV (one row per difference) and a
self-contained HTML page (no scripts). Money is written from integer minor units."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from html import escape
from pathlib import Path

from trueup.checks.shadow import KINDS, ShadowReport

COLUMNS = ("order_id", "kind", "trueup", "incumbent", "money_at_risk", "currency")


def _money(minor: int) -> str:
    return str(Decimal(minor) / 100)


def write_json(report: ShadowReport, path: Path) -> Path:
    body = report.summary() | {"differences": [d.as_dict() for d in report.differences]}
    path.write_text(json.dumps(body, indent=1), encoding="utf-8")
    return path


def write_csv(report: ShadowReport, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        for d in report.differences:
            out.writerow(
                [d.order_id, d.kind, d.trueup, d.incumbent, _money(d.money_at_risk_minor), d.currency]
            )
    return path


def write_html(report: ShadowReport, path: Path) -> Path:
    kinds = report.by_kind()
    risk = {k: 0 for k in KINDS}
    for d in report.differences:
        risk[d.kind] += d.money_at_risk_minor
    summary = "".join(
        f"<tr><td>{k}</td><td class=n>{kinds[k]}</td><td class=n>{_money(risk[k])}</td></tr>" for k in KINDS
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(v))}</td>"
            for v in (d.order_id, d.kind, d.trueup, d.incumbent, _money(d.money_at_risk_minor), d.currency)
        )
        + "</tr>"
        for d in report.differences
    )
    totals = ", ".join(f"{_money(v)} {escape(c)}" for c, v in report.money_by_currency().items()) or "none"
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>Shadow run {escape(report.since)}</title><style>body{{font-family:sans-serif;margin:2em}}
table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px}}td.n{{text-align:right}}</style></head><body>
<h1>Cutover report: trueup's plan against the incumbent's postings</h1>
<p>Orders placed {escape(report.since)} to {escape(report.until)}: {report.orders} in the storefront,
trueup would post {report.would_post}, the incumbent posted {report.incumbent_posted}.
Orders differing: {len({d.order_id for d in report.differences})}. Money at risk: {totals}.</p>
<h2>Differences by kind</h2>
<table><tr><th>kind</th><th>orders</th><th>money at risk</th></tr>{summary}</table>
<h2>Order by order</h2><table><tr>{"".join(f"<th>{c}</th>" for c in COLUMNS)}</tr>{rows}</table>
</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path
