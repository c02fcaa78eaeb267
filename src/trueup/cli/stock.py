"""`trueup sync stock`: the ERP's sellable stock to the storefront's sources, then a drift check."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from trueup.cli.common import (
    ConfigOpt,
    JsonOpt,
    console,
    fail,
    load,
    print_result,
    run_async,
    sync_app,
)
from trueup.errors import Fatal


@sync_app.command("stock")
def sync_stock(
    config: ConfigOpt = Path("trueup.toml"),
    once: Annotated[
        bool, typer.Option("--once/--every", help="One pass then exit, or a pass every interval_seconds.")
    ] = True,
    full: Annotated[
        bool, typer.Option("--full", help="Ignore what was pushed before: push every SKU × source.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Push the ERP's sellable stock to the storefront: only what changed, in batches; then check drift."""
    from trueup.deployment import open_deployment

    cfg = load(config)
    progress = Progress(
        TextColumn("stock batches"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=json_out or not console.is_terminal,
    )
    task = progress.add_task("push", total=0)

    def on_event(event: dict[str, object]) -> None:
        if event.get("event") == "observed" and event.get("flow") == "stock":
            progress.update(task, total=(progress.tasks[0].total or 0) + _int(event.get("rows")))
        elif event.get("event") == "batch" and event.get("lane") == "stock":
            progress.advance(task, sum(_int(v) for k, v in event.items() if k not in ("event", "lane")))

    async def go() -> dict[str, Any]:
        async with open_deployment(cfg, on_event=on_event) as dep:
            flow = dep.stock
            assert flow is not None
            flow.full = full
            if once:
                totals = dict(await dep.engine.drain(dep.stock_schedule))
            else:
                from trueup.flows.stock import DriftCheck

                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, stop.set)
                await dep.engine.run(
                    [dep.stock_schedule], [(DriftCheck(flow), cfg.stock.interval_seconds)], stop
                )
                totals = {}
            drift = await flow.check_drift()
            plan = flow.last_plan
            return {
                "snapshot_rows": plan.rows if plan else 0,
                "changed": plan.changed if plan else 0,
                "batches": plan.batches if plan else 0,
                "version": plan.version if plan else None,
                "pushed_rows": flow.pushed_rows,
                "api_calls": flow.api_calls,
                "outcomes": totals,
                "drift": {"findings": drift.findings, "parked": drift.parked, "units": drift.units_at_risk},
            }

    try:
        with progress:
            result = run_async(go())
    except Fatal as exc:
        fail(str(exc))
        return
    print_result("stock", result, as_json=json_out)


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
