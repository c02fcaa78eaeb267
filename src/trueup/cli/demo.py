"""`trueup demo`: a simulated trading day against the sandboxes, with a readable summary."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from trueup.cli.common import (
    JsonOpt,
    app,
    console,
    fail,
    load,
    run_async,
    wait_for_interrupt,
)
from trueup.model.exceptions import REASONS, Reason


@app.command()
def demo(
    orders: Annotated[int, typer.Option(min=1, help="Orders in the simulated trading day.")] = 500,
    seed: Annotated[int, typer.Option(help="Scenario seed: the same seed gives the same day.")] = 1,
    erp: Annotated[
        str, typer.Option(help="ERP to run against: rest, stokly, prima, merret or files.")
    ] = "rest",
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve", help="Keep the sandboxes up afterwards, until Ctrl-C, to explore."
        ),
    ] = True,
    as_json: JsonOpt = False,
    days: Annotated[
        int,
        typer.Option(
            min=1,
            help="Days of trading: more than one spreads the orders over them and seeds "
            "ledger variances for the month end (reconciliation.findings_by_kind).",
        ),
    ] = 1,
    workdir: Annotated[Path, typer.Option(help="Where the demo's config and database go.")] = Path(
        ".trueup-demo"
    ),
) -> None:
    """Simulate a trading day against the sandbox Magento and ERP, and report what happened."""
    from trueup.demo import DemoOptions, run_demo
    from trueup.sandbox.erps import SANDBOXES

    if erp not in SANDBOXES:
        fail(f"--erp {erp!r}: expected one of {', '.join(SANDBOXES)}")
    opts = DemoOptions(orders=orders, seed=seed, workdir=workdir, erp=erp, days=days)
    if as_json:
        summary = run_async(run_demo(opts))
        summary["manual"] = _write_manual(summary)
        print(json.dumps(summary, indent=2))
    else:
        summary = _demo_with_progress(opts, run_demo, _hold_for_exploring if serve else None)
    ok = summary["duplicate_erp_orders"] == 0 and summary["outcomes_as_expected"]
    raise typer.Exit(0 if ok else 1)


def _write_manual(summary: dict[str, Any]) -> str:
    """The operating manual generated from the demo's config, next to it: its Markdown path."""
    from trueup.manual.operating import manual_html, manual_markdown

    config = Path(summary["config"])
    cfg = load(config)
    folder = config.parent / "manual"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manual.md").write_text(manual_markdown(cfg), encoding="utf-8")
    (folder / "manual.html").write_text(manual_html(cfg), encoding="utf-8")
    return str(folder / "manual.md")


def _hold_for_exploring(world: Any, summary: dict[str, Any]) -> None:
    """Print the summary, then keep the sandboxes serving until Ctrl-C."""
    _print_summary(summary)
    out = Console()
    out.print("\n[bold]The sandboxes stay up until Ctrl-C.[/] In another shell:")
    exports = " ".join(f"{k}={v}" for k, v in world.env().items())
    for line in (
        f"  export {exports}",
        f"  .venv/bin/trueup -c {summary['config']} exceptions list",
        f"  .venv/bin/trueup -c {summary['config']} sync orders --once",
        f"  Magento emulator: {world.magento_url}/V1/orders",
        f"  .venv/bin/trueup -c {summary['config']} users add demo --role admin   (then, for the dashboard:)",
        f"  .venv/bin/trueup -c {summary['config']} serve   and open http://127.0.0.1:8080/",
    ):
        out.print(line, markup=False, soft_wrap=True)
    wait_for_interrupt()


def _demo_with_progress(
    opts: Any,
    run_demo: Callable[..., Coroutine[Any, Any, dict[str, Any]]],
    hold: Callable[[Any, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("orders settled", total=opts.orders)

        def on_event(event: dict[str, object]) -> None:
            if event.get("event") == "batch" and event.get("lane") == "orders":  # not stock nor despatches
                settled = sum(int(event.get(k, 0)) for k in ("done", "parked", "skipped"))  # type: ignore[call-overload]
                bar.advance(task, settled)
            elif event.get("event") == "observed":
                bar.advance(task, int(event.get("parked", 0)))  # type: ignore[call-overload]

        summary = run_async(run_demo(opts, on_event, hold))
    if hold is None:
        _print_summary(summary)
    return summary


def _print_summary(summary: dict[str, Any]) -> None:
    o = summary["orders"]
    out = Console()
    out.print(f"\n[bold]Trading day (seed {summary['seed']})[/]: {o['generated']} Magento orders")
    out.print(
        f"  posted to the ERP      {o['posted']}  (ERP holds {summary['erp_sales_orders']} sales orders,"
        f" {summary['duplicate_erp_orders']} duplicates)"
    )
    out.print(f"  parked as exceptions   {o['parked']}")
    out.print(f"  paid later in the day  {o['payments_captured_later']} (waited, then posted)")
    orphans = summary.get("orphans", {})
    out.print(f"  orphan sweep           found {orphans.get('found')}, repaired {orphans.get('repaired')}")
    if rec := summary.get("reconciliation"):
        kinds = ", ".join(f"{k} {n}" for k, n in rec["findings_by_kind"].items()) or "nothing"
        out.print(f"  sales vs ERP ledger    {rec['orders']} orders, {rec['ledger']} postings: {kinds}")
    if s := summary.get("shipments"):
        out.print(
            f"  despatched by the ERP  {s['despatches']}: {s['created']} shipments, "
            f"{s['linked_manual']} manual ones linked, {s['parked']} parked"
        )
    if cn := summary.get("credit_notes"):
        out.print(
            f"  refunded in Magento    {cn['refunds']}: {cn['posted']} credit notes, "
            f"{summary.get('restocked_units', 0)} units restocked ({cn['restock_not_booked']} by hand)"
        )
    if st := summary.get("stock"):
        out.print(
            f"  stock to Magento       {st['pushed_rows']} source items pushed in {st['api_calls']} calls, "
            f"drift after sync {st['drift_after_sync']}"
        )
    if pr := summary.get("prices"):
        pushed, refused = pr["pushed"], pr["rejected_parked"]
        out.print(f"  prices to Magento      {pushed} pushed, {refused} refused and parked")
    table = Table(title="Exception queue by reason")
    for col in ("reason", "count", "owner", "what it means"):
        table.add_column(col)
    for reason, n in summary["exceptions_by_reason"].items():
        info = REASONS[Reason(reason)]
        table.add_row(reason, str(n), info.owner, info.title)
    out.print(table)
    verdict = (
        "every order ended as the scenario expected"
        if summary["outcomes_as_expected"]
        else (f"MISMATCHES: {summary['outcome_mismatches']}")
    )
    out.print(f"Check: {verdict}.")
    out.print(f"Operating manual for this deployment: {_write_manual(summary)} (and manual.html)")


# exceptions
