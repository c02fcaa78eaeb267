"""`trueup sync <flow>` (one pass now) and `trueup run` (every flow on its interval)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

from trueup.cli.common import (
    ConfigOpt,
    app,
    console,
    emit_jsonl,
    fail,
    load,
    run_async,
    sync_app,
)
from trueup.errors import Fatal


@sync_app.command("orders")
def sync_orders(
    config: ConfigOpt = Path("trueup.toml"),
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit when all is posted.")] = True,
    progress: Annotated[str, typer.Option(help="Progress output: none or jsonl.")] = "none",
    skip_items: Annotated[
        bool, typer.Option("--skip-items", help="Do not refresh the ERP item map first.")
    ] = False,
) -> None:
    """Post paid storefront orders to the ERP: observe once, post everything, then exit."""
    from trueup.deployment import open_deployment

    cfg = load(config)
    on_event = emit_jsonl if progress == "jsonl" else None

    async def go() -> dict[str, int]:
        async with open_deployment(cfg, on_event=on_event) as dep:
            totals = await dep.engine.drain(
                dep.order_schedule,
                before=[] if skip_items else [dep.items],
                items_held=await dep.items_held(),
            )
            return dict(totals)

    try:
        totals = run_async(go())
    except Fatal as exc:
        fail(str(exc))
    console.print(f"orders: {totals}")


@sync_app.command("items")
def sync_items(config: ConfigOpt = Path("trueup.toml")) -> None:
    """Refresh trueup's SKU map from the ERP's item master."""
    from trueup.deployment import open_deployment

    cfg = load(config)

    async def go() -> object:
        async with open_deployment(cfg) as dep:
            return await dep.items.sync()

    try:
        console.print(f"items: {run_async(go())}")
    except Fatal as exc:
        fail(str(exc))


@app.command()
def run(
    config: ConfigOpt = Path("trueup.toml"),
    progress: Annotated[str, typer.Option(help="Progress output: none or jsonl.")] = "none",
) -> None:
    """Run every enabled flow on its interval until stopped (Ctrl-C or SIGTERM)."""
    from trueup.deployment import open_deployment

    cfg = load(config)
    on_event = emit_jsonl if progress == "jsonl" else None

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with open_deployment(cfg, on_event=on_event) as dep:
            schedules = [dep.order_schedule] if cfg.flows.orders.enabled else []
            periodic = [(dep.items, cfg.flows.items.interval_seconds)] if cfg.flows.items.enabled else []
            console.print("trueup running; Ctrl-C to stop")
            await dep.engine.run(schedules, periodic, stop, items_held=await dep.items_held())
        console.print("trueup stopped")

    try:
        run_async(go())
    except Fatal as exc:
        fail(str(exc))
