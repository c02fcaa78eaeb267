"""`trueup sync <flow>` (one pass now) and `trueup run` (every flow on its interval)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from trueup.cli.common import (
    ConfigOpt,
    JsonOpt,
    app,
    console,
    emit_jsonl,
    fail,
    load,
    print_result,
    run_async,
    sync_app,
)
from trueup.errors import Fatal

if TYPE_CHECKING:
    from trueup.config import Config
    from trueup.deployment import Deployment
    from trueup.runtime.engine import PeriodicTask, Schedule


@sync_app.command("orders")
def sync_orders(
    config: ConfigOpt = Path("trueup.toml"),
    once: Annotated[
        bool,
        typer.Option(
            "--once/--no-once",
            help="One pass, then exit when all is posted; --no-once keeps posting on the flow's interval "
            "until Ctrl-C.",
        ),
    ] = True,
    progress: Annotated[
        str,
        typer.Option(
            metavar="auto|jsonl|none",
            help="auto: a bar on a terminal, a line every 10 s otherwise; jsonl: events on stdout.",
        ),
    ] = "auto",
    skip_items: Annotated[
        bool, typer.Option("--skip-items", help="Do not refresh the ERP item map first.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE-TIME",
            help="Backfill on purpose: post orders placed from this moment (UTC), even before start_from.",
        ),
    ] = None,
) -> None:
    """Post paid storefront orders to the ERP: observe once, post everything, then exit."""
    from trueup.cli.progress import PassProgress, fan_out
    from trueup.cli.summary import readable
    from trueup.deployment import open_deployment
    from trueup.flows.orders import KIND
    from trueup.model.work import Status

    if progress not in ("auto", "jsonl", "none"):
        fail(f"--progress {progress!r}: expected auto, jsonl or none")
    cfg = load(config)
    bar = PassProgress("orders", "orders", console) if progress == "auto" else None
    on_event = fan_out(emit_jsonl if progress == "jsonl" else None, bar)
    backfill = _moment(since) if since is not None else None

    async def go() -> tuple[dict[str, int], int]:
        async with open_deployment(cfg, on_event=on_event, since=backfill) as dep:
            if not once:
                await until_stopped(dep, [dep.order_schedule], [] if skip_items else [dep.items])
                return {}, dep.store.counts(KIND).get(Status.SENT, 0)
            totals = await dep.engine.drain(
                dep.order_schedule,
                before=[] if skip_items else [dep.items],
                items_held=await dep.items_held(),
            )
            return dict(totals), dep.store.counts(KIND).get(Status.SENT, 0)

    try:
        if bar is not None and once:
            with bar.shown():
                totals, awaiting = run_async(go())
        else:
            totals, awaiting = run_async(go())
    except Fatal as exc:
        fail(str(exc))
    console.print(f"orders: {readable(totals)}", highlight=False)
    if awaiting:
        # Written for a batch ERP that has not taken or refused them yet: not posted, asked again next pass.
        console.print(f"orders awaiting the ERP's acknowledgement: {awaiting}")


@sync_app.command("items")
def sync_items(
    config: ConfigOpt = Path("trueup.toml"),
    full: Annotated[
        bool, typer.Option("--full", help="Ignore what was pushed before: send every product again.")
    ] = False,
    map_only: Annotated[
        bool, typer.Option("--map-only", help="Only refresh trueup's SKU map; send nothing to the store.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Refresh trueup's SKU map from the ERP's item master, then create or update the storefront's products
    (technical attributes only: SKU, name, status, barcode, weight, configured attributes)."""
    from trueup.cli.catalog import push_catalog
    from trueup.cli.summary import readable
    from trueup.deployment import open_deployment

    cfg = load(config)

    async def go() -> tuple[dict[str, Any], dict[str, Any] | None]:
        async with open_deployment(cfg) as dep:
            mapped = await dep.items.sync()
            pushed = None if map_only else await push_catalog(dep, full=full)
            return asdict(mapped), pushed

    try:
        mapped, pushed = run_async(go())
    except Fatal as exc:
        fail(str(exc))
        return
    if json_out:
        print_result("items", {"map": mapped, "catalog": pushed}, as_json=True)
        return
    console.print(f"items: {readable(mapped)}", highlight=False)
    if pushed is not None:
        console.print(f"catalog: {readable(pushed)}", highlight=False)


async def until_stopped(dep: Deployment, schedules: list[Schedule], first: list[PeriodicTask]) -> None:
    """Work these flows on their intervals until Ctrl-C or SIGTERM (`sync … --no-once`)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    interval = dep.config.flows.items.interval_seconds
    console.print("working on the flow's interval; Ctrl-C to stop")
    await dep.engine.run(schedules, [(t, interval) for t in first], stop, items_held=await dep.items_held())


@app.command()
def run(
    config: ConfigOpt = Path("trueup.toml"),
    progress: Annotated[
        str,
        typer.Option(
            metavar="auto|jsonl|none",
            help="auto: a line on the order lane's progress every minute; jsonl: events on stdout.",
        ),
    ] = "auto",
    webhooks_port: Annotated[
        int | None,
        typer.Option(
            "--webhooks-port",
            help="Serve signed storefront webhooks on 127.0.0.1:PORT to wake the order flow early "
            "([security] webhook_secret_env; put a TLS proxy in front).",
        ),
    ] = None,
    dashboard_port: Annotated[
        int | None,
        typer.Option(
            "--dashboard-port",
            help="Serve the web dashboard on 127.0.0.1:PORT inside the engine, with live circuit states "
            "(docs/dashboard.md; put a TLS proxy in front).",
        ),
    ] = None,
) -> None:
    """Run every enabled flow and check on its interval until stopped (Ctrl-C or SIGTERM)."""
    from trueup.alerts.schedule import periodic_tasks as alert_tasks
    from trueup.cli.progress import PassProgress, fan_out
    from trueup.deployment import open_deployment, orphan_sweep
    from trueup.flows.prices import PriceDriftCheck
    from trueup.flows.stock import DriftCheck

    if progress not in ("auto", "jsonl", "none"):
        fail(f"--progress {progress!r}: expected auto, jsonl or none")
    cfg = load(config)
    lines = PassProgress("orders", "orders", console, every_seconds=60) if progress == "auto" else None
    on_event = fan_out(emit_jsonl if progress == "jsonl" else None, lines)

    async def go() -> None:
        stack = contextlib.ExitStack()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with open_deployment(cfg, on_event=on_event) as dep:
            wake = asyncio.Event()
            schedules = [replace(dep.order_schedule, wake=wake)] if cfg.flows.orders.enabled else []
            if webhooks_port is not None:
                stack.enter_context(_serve_webhooks(cfg, webhooks_port, loop, wake))
            if dashboard_port is not None:
                from trueup.web.embedded import serve_dashboard

                stack.enter_context(serve_dashboard(dep, dashboard_port))
            if cfg.flows.despatches.enabled:
                schedules.append(dep.despatch_schedule)  # its own lane: never delays orders
            periodic: list[tuple[PeriodicTask, float]] = []
            if cfg.flows.items.enabled:
                periodic.append((dep.items, cfg.flows.items.interval_seconds))
            if cfg.checks.orphans.enabled:  # the second net: paid orders with no ERP link
                periodic.append((orphan_sweep(dep), cfg.checks.orphans.interval_seconds))
            # Stock has its own lane and worker: a stock backlog never delays order posting (R-STK-5).
            if cfg.stock.enabled and dep.stock is not None:
                schedules.append(dep.stock_schedule)
                periodic.append((DriftCheck(dep.stock), cfg.stock.interval_seconds))
            if cfg.catalog.enabled and dep.catalog is not None:  # products: a lane of their own
                schedules.append(dep.catalog_schedule)
            if cfg.prices.enabled and dep.prices is not None:  # the catalogue lane
                schedules.append(dep.price_schedule)
                periodic.append((PriceDriftCheck(dep.prices), cfg.prices.interval_seconds))
            if cfg.flows.despatches.enabled and dep.fulfilment_checks is not None:
                periodic.append((dep.fulfilment_checks, cfg.flows.despatches.interval_seconds))
            if cfg.checks.reconcile.enabled:  # finance: sales against the ERP's ledger, daily
                from trueup.deployment import reconcile_task

                periodic.append((reconcile_task(dep), cfg.checks.reconcile.interval_seconds))
            # Refunds run when switched off too: they are then watched only, and drift is still found.
            if dep.refunds is not None and dep.refund_checks is not None:
                schedules.append(dep.refund_schedule)  # its own lane
                periodic.append((dep.refund_checks, cfg.flows.refunds.interval_seconds))
            if dep.cancellations is not None:  # orders cancelled in the store after they reached the ERP
                schedules.append(dep.cancellation_schedule)
            periodic.append((_daily_purge(dep), 86_400.0))
            periodic.append(_snapshots(dep))  # the dashboard's backlog and lag over time
            periodic += alert_tasks(dep.store, cfg.alerts, dep.backend.call)  # [alerts]: their own breaker
            console.print("trueup running; Ctrl-C to stop")
            with stack:
                await dep.engine.run(schedules, periodic, stop, items_held=await dep.items_held())
        console.print("trueup stopped")

    try:
        run_async(go())
    except Fatal as exc:
        fail(str(exc))


@contextlib.contextmanager
def _serve_webhooks(
    cfg: Config, port: int, loop: asyncio.AbstractEventLoop, wake: asyncio.Event
) -> Iterator[None]:
    """The webhook endpoint on its own thread; a verified event sets `wake` on the engine's loop."""
    from trueup.config import secret
    from trueup.sandbox.serve import ServerThread
    from trueup.web.webhooks import Verifier, create_app

    verifier = Verifier(secret(cfg.security.webhook_secret_env).encode("utf-8"))

    def on_event(_source: str) -> None:
        loop.call_soon_threadsafe(wake.set)

    app = create_app(verifier, on_event)
    with ServerThread(app, port=port) as server:
        console.print(f"webhooks on {server.url}/webhooks/<magento|commercetools>")
        yield


def _daily_purge(dep: Deployment) -> PeriodicTask:
    """Payloads of finished rows are purged once a day, after [security] retention_days."""
    from datetime import timedelta

    from trueup.runtime.clock import SystemClock
    from trueup.security.retention import PurgeTask

    retention = timedelta(days=dep.config.security.retention_days)
    return PurgeTask(dep.store, retention, SystemClock(), dep.backend.call)


def _snapshots(dep: Deployment) -> tuple[PeriodicTask, float]:
    """Every flow's backlog, lag and open exceptions, recorded every few minutes for the dashboard."""
    from trueup.runtime.clock import SystemClock
    from trueup.web.snapshots import SNAPSHOT_SECONDS, SnapshotTask

    return SnapshotTask(dep.store, SystemClock(), dep.backend.call), SNAPSHOT_SECONDS


def _moment(text: str) -> datetime:
    """An ISO date or date-time from the command line, as naive UTC (Magento's times are UTC)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--since {text!r} is not a date-time; expected e.g. 2026-11-01 or 2026-11-01T09:30:00")
        raise AssertionError from None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
