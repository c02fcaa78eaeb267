"""The month-end close report written for finance: an XLSX workbook (openpyxl) and an HTML page with its
charts drawn as inline SVG (no scripts). Minor units become Decimal amounts here, and only here."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.styles import Font

from trueup.finance.close import CloseReport

MONEY_COLUMNS = {
    "storefront_net", "storefront_tax", "storefront_gross", "erp_net", "erp_tax", "erp_gross", "variance",
    "net", "tax", "storefront", "erp", "difference", "money_at_risk", "minor", "gross_minor",
}  # fmt: skip
AMOUNT = "#,##0.00"


def _amount(minor: object) -> object:
    return Decimal(minor) / 100 if isinstance(minor, int) else minor


def _sheets(report: CloseReport) -> dict[str, pl.DataFrame]:
    fees = pl.DataFrame(
        [
            {"provider": p, "currency": c, "minor": v}
            for (p, c), v in sorted((report.settlements.fees if report.settlements else {}).items())
        ],
        schema={"provider": pl.String, "currency": pl.String, "minor": pl.Int64},
    )
    unmatched = pl.DataFrame(
        [
            {
                "provider": u.settlement.provider,
                "reference": u.settlement.reference,
                "order": u.settlement.order_id,
                "kind": str(u.settlement.kind),
                "gross_minor": u.settlement.gross_minor,
                "why": u.why,
            }
            for u in (report.settlements.unmatched if report.settlements else [])
        ],
        schema={"provider": pl.String, "reference": pl.String, "order": pl.String, "kind": pl.String,
                "gross_minor": pl.Int64, "why": pl.String},
    )  # fmt: skip
    return {
        "By day": report.by_day,
        "By currency": report.by_currency,
        "By tax rate": report.by_rate,
        "Variances": report.variances,
        "Unreconciled": report.unreconciled,
        "Fees": fees,
        "Unmatched payouts": unmatched,
    }


def write_xlsx(report: CloseReport, path: Path) -> Path:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Summary"
    summary.append([f"Month-end close {report.month}"])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append(["Finding", "Count", "Money at risk"])
    for kind, count in report.findings_by_kind.items():
        summary.append([kind, count, _amount(report.money_by_kind[kind])])
        summary.cell(summary.max_row, 3).number_format = AMOUNT
    for note in report.notes:
        summary.append([note])
    for title, frame in _sheets(report).items():
        sheet = book.create_sheet(title)
        sheet.append(frame.columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        money = [i for i, c in enumerate(frame.columns, 1) if c in MONEY_COLUMNS]
        for row in frame.iter_rows():
            sheet.append([_amount(v) if i in money else v for i, v in enumerate(row, 1)])
            for i in money:
                sheet.cell(sheet.max_row, i).number_format = AMOUNT
    book.save(path)
    return path


def _bars(title: str, labels: list[str], series: dict[str, list[int]], colours: tuple[str, ...]) -> str:
    """A grouped bar chart as inline SVG: one group per label, one bar per series."""
    width, height, pad = 760, 220, 30
    top = max([1, *(abs(v) for values in series.values() for v in values)])
    group = (width - 2 * pad) / max(len(labels), 1)
    bar = group / (len(series) + 1)
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="{width}" height="{height + 40}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']  # fmt: skip
    for s, (name, values) in enumerate(series.items()):
        for i, value in enumerate(values):
            h = abs(value) * (height - pad) // top
            x = pad + i * group + s * bar
            tip = f"{escape(labels[i])} {escape(name)}: {_amount(value)}"
            parts.append(
                f'<rect x="{x:.1f}" y="{height - h}" width="{bar:.1f}" height="{h}" fill="{colours[s]}">'
                f"<title>{tip}</title></rect>"
            )
        parts.append(
            f'<text x="{pad + s * 160}" y="{height + 30}" fill="{colours[s]}">■ {escape(name)}</text>'
        )
    step = max(1, len(labels) // 10)
    for i in range(0, len(labels), step):
        parts.append(
            f'<text x="{pad + i * group:.1f}" y="{height + 14}" font-size="10">{escape(labels[i])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(frame: pl.DataFrame, limit: int = 200) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.head(limit).iter_rows():
        cells = (
            f'<td class="n">{_amount(v)}</td>' if c in MONEY_COLUMNS else f"<td>{escape(str(v))}</td>"
            for c, v in zip(frame.columns, row, strict=True)
        )
        rows.append(f"<tr>{''.join(cells)}</tr>")
    more = f"<p>… and {frame.height - limit} more rows (all in the XLSX)</p>" if frame.height > limit else ""
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{more}"


def write_html(report: CloseReport, path: Path) -> Path:
    daily = (
        report.by_day.group_by("day")
        .agg(pl.col("storefront_gross").sum(), pl.col("erp_gross").sum())
        .sort("day")
    )
    kinds = [k for k, n in report.findings_by_kind.items() if n]
    body = [
        f"<h1>Month-end close {escape(report.month)}</h1>",
        *(f"<p class='note'>{escape(n)}</p>" for n in report.notes),
        "<h2>Gross sales by day, both systems</h2>",
        _bars(
            "Gross by day",
            [str(d) for d in daily["day"]],
            {"storefront": daily["storefront_gross"].to_list(), "ERP": daily["erp_gross"].to_list()},
            ("#3366cc", "#dc7633"),
        ),
        "<h2>Findings by kind (money at risk)</h2>",
        _bars(
            "Money at risk by kind",
            kinds,
            {"money at risk": [report.money_by_kind[k] for k in kinds]},
            ("#c0392b",),
        ),
    ]
    for title, frame in _sheets(report).items():
        body += [f"<h2>{escape(title)}</h2>", _table(frame)]
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:2px 6px}td.n{text-align:right}.note{color:#a04000}"
    )
    path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>Close {escape(report.month)}</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>",
        encoding="utf-8",
    )
    return path
