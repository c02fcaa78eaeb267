"""`trueup report close --month 2026-10` (alias `trueup close`): the month-end close, XLSX and HTML."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.markup import escape

from trueup.cli.common import ConfigOpt, JsonOpt, app, console, fail, load, run_async
from trueup.cli.report import report_app
from trueup.errors import Fatal

if TYPE_CHECKING:
    from trueup.checks.reconcile import Books

MonthOpt = Annotated[str, typer.Option("--month", help="The month to close, YYYY-MM.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Folder for close-<month>.xlsx and .html.")]
PayoutsOpt = Annotated[
    list[Path] | None,
    typer.Option("--payouts", help="A Stripe balance export or Adyen settlement details CSV (repeatable)."),
]


@report_app.command("close")
@app.command("close")
def close(
    month: MonthOpt,
    config: ConfigOpt = Path("trueup.toml"),
    out: OutOpt = Path("."),
    payouts: PayoutsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reconcile a month's sales with the ERP's ledger and write the close report.

    Exit 1 when anything is unreconciled or open, 0 when the month is clean, 2 on an error."""
    from trueup.checks.reconcile import reconcile
    from trueup.checks.reconcile_plan import RECONCILE_REASONS
    from trueup.deployment import open_deployment, refund_memos
    from trueup.finance.close import build_close, month_period
    from trueup.finance.close_render import write_html, write_xlsx
    from trueup.finance.gather import gather
    from trueup.finance.payout_findings import PAYOUT_REASONS, plan_payouts
    from trueup.finance.settlements import Matching, SettlementFormatError, match, read_settlements
    from trueup.ports import LedgerSource
    from trueup.store.checks import write_sweep
    from trueup.store.reconcile import finding_statuses

    try:
        period = month_period(month)
    except ValueError as exc:
        fail(str(exc))
        return
    cfg = load(config)

    try:
        folder = cfg.checks.reconcile.payouts_folder
        files = payouts or (sorted((config.parent / folder).glob("*.csv")) if folder else [])
        rows = [row for path in files for row in read_settlements(path)]
    except (SettlementFormatError, OSError) as exc:
        fail(str(exc))
        return

    async def go() -> tuple[Books, Books, list[str], dict[tuple[str, str], str], Matching | None]:
        async with open_deployment(cfg) as dep:
            erp = dep.orders.sink
            if not hasattr(erp, "ledger"):
                raise Fatal(f"ERP {cfg.erp.name} does not offer its ledger: it cannot be reconciled")
            ledger = cast(LedgerSource, erp)
            sf, erp_books, notes = await gather(
                dep.orders.source, ledger, period, datetime.now(UTC), memos=refund_memos(dep)
            )
            matching = match(rows, *paid(sf)) if rows else None

            def statuses() -> dict[tuple[str, str], str]:  # what the exception queue says of each finding
                with dep.backend.store.tx() as conn:
                    if matching is not None:  # payout differences go to finance's queue too
                        queue = finding_statuses(conn, PAYOUT_REASONS)
                        write = plan_payouts(matching, rows, queue, erp=cfg.erp.name)
                        write_sweep(
                            conn, write, datetime.now(UTC), order_kind="", link_kind="", storefront="",
                            check="payout matching",
                        )  # fmt: skip
                    return finding_statuses(conn, RECONCILE_REASONS)

            return sf, erp_books, notes, await dep.backend.call(statuses), matching

    try:
        sf, erp_books, notes, queue, matching = run_async(go())
    except Fatal as exc:
        fail(str(exc))
        return
    findings = reconcile(sf, erp_books)
    report = build_close(month, sf, erp_books, findings, statuses=queue, settlements=matching, notes=notes)
    out.mkdir(parents=True, exist_ok=True)
    xlsx = write_xlsx(report, out / f"close-{month}.xlsx")
    html = write_html(report, out / f"close-{month}.html")
    summary = report.summary() | {"xlsx": str(xlsx), "html": str(html)}
    if as_json:
        print(json.dumps(summary, default=str))
    else:
        for kind, count in report.findings_by_kind.items():
            if count:
                at_risk = Decimal(report.money_by_kind[kind]) / 100
                console.print(f"[bold]{kind}[/] {count}, money at risk {at_risk}")
        console.print(f"wrote {escape(str(xlsx))} and {escape(str(html))}")
    raise typer.Exit(1 if summary["open"] or (matching and matching.unmatched) else 0)


def paid(sf: Books) -> tuple[dict[str, int], dict[str, int]]:
    """What the storefront charged (invoice gross) and refunded (credit notes' gross) per order."""
    import polars as pl

    from trueup.checks.reconcile import CREDIT, INVOICE

    docs = sf.documents.group_by("order_id", "kind").agg(pl.col("gross").sum())
    charged = dict(docs.filter(pl.col("kind") == INVOICE).select("order_id", "gross").iter_rows())
    refunded = dict(docs.filter(pl.col("kind") == CREDIT).select("order_id", "gross").iter_rows())
    return charged, refunded


def check_ledger(config: Path, *, as_json: bool) -> None:
    """Run the daily sales-to-ledger reconciliation once: findings go to the exception queue (finance),
    open ones that agree now are cleared. Exit 1 when anything was found, 0 when clean, 2 on an error."""
    from trueup.deployment import open_deployment, reconcile_task

    cfg = load(config)

    async def go() -> dict[str, object]:
        async with open_deployment(cfg) as dep:
            return await reconcile_task(dep).sync()

    try:
        result = run_async(go())
    except Fatal as exc:
        fail(str(exc))
        return
    if as_json:
        print(json.dumps(result, default=str))
    else:
        console.print(
            f"reconciled {result['orders']} storefront orders with {result['ledger']} ERP postings: "
            f"found {result['found']} (new {result['new']}), cleared {result['cleared']}"
        )
    raise typer.Exit(1 if result["found"] else 0)
