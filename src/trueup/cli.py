"""The `trueup` command line."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import getpass
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from trueup.config import EXAMPLE, Config, load_config
from trueup.errors import Fatal
from trueup.model.exceptions import REASONS, Reason

# Tracebacks never print local variables: they hold customers' personal data and tokens (R-SEC-2).
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    help="Keeps a storefront and an ERP true.",
)
sync_app = typer.Typer(no_args_is_help=True, help="Run one flow now.")
exc_app = typer.Typer(no_args_is_help=True, help="The exception queue: list, show, retry, resolve, ignore.")
app.add_typer(sync_app, name="sync")
app.add_typer(exc_app, name="exceptions")

console = Console(stderr=True)
T = TypeVar("T")

ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", envvar="TRUEUP_CONFIG", help="Deployment config file.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
NoteOpt = Annotated[str, typer.Option("--note", "-m", help="Why: kept in the audit trail.")]
ActorOpt = Annotated[str, typer.Option("--actor", envvar="TRUEUP_ACTOR", help="Who is acting (audited).")]


@app.callback()
def _global(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Deployment config file, for every command.")
    ] = None,
) -> None:
    """Keeps a storefront and an ERP true to each other."""
    if config is not None:
        os.environ["TRUEUP_CONFIG"] = str(config)  # every command's --config defaults to this


def _default_actor() -> str:
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return "unknown"


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _config(path: Path) -> Config:
    try:
        return load_config(path)
    except Fatal as exc:
        _fail(str(exc))
        raise AssertionError from exc


def _run(coro: Coroutine[Any, Any, T]) -> T:
    # Everything imported so far lives as long as the process: keep the cyclic GC from re-scanning it, and
    # let it run less often, since the engine allocates many short-lived records per order.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def _emit_jsonl(event: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(event, default=str) + "\n")
    sys.stdout.flush()


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the example config.")] = Path("trueup.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented example trueup.toml."""
    if path.exists() and not force:
        _fail(f"{path} exists; use --force to overwrite")
    path.write_text(EXAMPLE, encoding="utf-8")
    console.print(f"wrote {path}: edit it, set the token environment variables it names, then `trueup check`")


@app.command()
def check(
    config: ConfigOpt = Path("trueup.toml"),
    online: Annotated[
        bool, typer.Option("--online", help="Also reach both systems with the configured credentials.")
    ] = False,
) -> None:
    """Validate the config file (and, with --online, that both systems answer and accept the tokens)."""
    cfg = _config(config)
    missing = [env for env in (cfg.storefront.token_env, cfg.erp.token_env) if not os.environ.get(env)]
    for env in missing:
        console.print(f"[yellow]warning:[/] environment variable {env} is not set")
    console.print(f"{config}: ok")
    if online:
        failures = _run(_check_online(cfg))
        if failures:
            raise typer.Exit(2)


async def _check_online(cfg: Config) -> int:
    """Read one page from each system, read-only; report each on its own line. Returns the failures."""
    from datetime import timedelta

    from trueup.deployment import open_deployment
    from trueup.errors import TrueupError
    from trueup.runtime.clock import SystemClock

    failures = 0
    try:
        async with open_deployment(cfg) as dep:
            now = SystemClock().now()
            checks = {
                f"storefront {cfg.storefront.name}": dep.orders.source.orders_updated(
                    now - timedelta(days=1), now
                ),
                f"ERP {cfg.erp.name} ({cfg.erp.kind})": dep.items.source.items(),
            }
            for label, pages in checks.items():
                try:
                    async for _ in pages:
                        break
                    console.print(f"{label}: reachable, credentials accepted")
                except TrueupError as exc:
                    failures += 1
                    console.print(f"[bold red]{label}:[/] {escape(str(exc))}")
                finally:
                    await pages.aclose()  # type: ignore[attr-defined]
    except TrueupError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return 1
    return failures


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

    cfg = _config(config)
    on_event = _emit_jsonl if progress == "jsonl" else None

    async def go() -> dict[str, int]:
        async with open_deployment(cfg, on_event=on_event) as dep:
            totals = await dep.engine.drain(dep.order_schedule, before=[] if skip_items else [dep.items])
            return dict(totals)

    try:
        totals = _run(go())
    except Fatal as exc:
        _fail(str(exc))
    console.print(f"orders: {totals}")


@sync_app.command("items")
def sync_items(config: ConfigOpt = Path("trueup.toml")) -> None:
    """Refresh trueup's SKU map from the ERP's item master."""
    from trueup.deployment import open_deployment

    cfg = _config(config)

    async def go() -> object:
        async with open_deployment(cfg) as dep:
            return await dep.items.sync()

    try:
        console.print(f"items: {_run(go())}")
    except Fatal as exc:
        _fail(str(exc))


@app.command()
def run(
    config: ConfigOpt = Path("trueup.toml"),
    progress: Annotated[str, typer.Option(help="Progress output: none or jsonl.")] = "none",
) -> None:
    """Run every enabled flow on its interval until stopped (Ctrl-C or SIGTERM)."""
    from trueup.deployment import open_deployment

    cfg = _config(config)
    on_event = _emit_jsonl if progress == "jsonl" else None

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with open_deployment(cfg, on_event=on_event) as dep:
            schedules = [dep.order_schedule] if cfg.flows.orders.enabled else []
            periodic = [(dep.items, cfg.flows.items.interval_seconds)] if cfg.flows.items.enabled else []
            console.print("trueup running; Ctrl-C to stop")
            await dep.engine.run(schedules, periodic, stop)
        console.print("trueup stopped")

    try:
        _run(go())
    except Fatal as exc:
        _fail(str(exc))


@app.command()
def demo(
    orders: Annotated[int, typer.Option(help="Orders in the simulated trading day.")] = 500,
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
    workdir: Annotated[Path, typer.Option(help="Where the demo's config and database go.")] = Path(
        ".trueup-demo"
    ),
) -> None:
    """Simulate a trading day against the sandbox Magento and ERP, and report what happened."""
    from trueup.demo import DemoOptions, run_demo
    from trueup.sandbox.erps import SANDBOXES

    if erp not in SANDBOXES:
        _fail(f"--erp {erp!r}: expected one of {', '.join(SANDBOXES)}")
    opts = DemoOptions(orders=orders, seed=seed, workdir=workdir, erp=erp)
    if as_json:
        summary = _run(run_demo(opts))
        print(json.dumps(summary, indent=2))
    else:
        summary = _demo_with_progress(opts, run_demo, _hold_for_exploring if serve else None)
    ok = summary["duplicate_erp_orders"] == 0 and summary["outcomes_as_expected"]
    raise typer.Exit(0 if ok else 1)


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
    ):
        out.print(line, markup=False, soft_wrap=True)
    _wait_for_interrupt()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM. The signal may land on a server thread, and Python runs handlers only in
    the main thread between bytecodes, so the wait wakes twice a second to let them run."""
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    forever = threading.Event()
    try:
        with contextlib.suppress(KeyboardInterrupt):
            while not forever.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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
            if event.get("event") == "batch":
                settled = sum(int(event.get(k, 0)) for k in ("done", "parked", "skipped"))  # type: ignore[call-overload]
                bar.advance(task, settled)
            elif event.get("event") == "observed":
                bar.advance(task, int(event.get("parked", 0)))  # type: ignore[call-overload]

        summary = _run(run_demo(opts, on_event, hold))
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


# exceptions


def _store(config: Path) -> Any:
    from trueup.store import Store

    return Store(_config(config).runtime.database_url)


@exc_app.command("list")
def exc_list(
    config: ConfigOpt = Path("trueup.toml"),
    reason: Annotated[str | None, typer.Option(help="Only this reason code.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only this owner team.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List open exceptions (parked work)."""
    from trueup.store.exceptions import list_exceptions

    store = _store(config)
    with store.tx() as conn:
        rows = list_exceptions(conn, reason=reason, owner=owner, limit=limit)
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    table = Table(title=f"{len(rows)} open exceptions")
    for col in ("id", "key", "reason", "owner", "at fault", "field", "impact", "detail"):
        table.add_column(col, overflow="fold")
    for r in rows:
        impact = f"{r.currency} {Decimal(r.impact_minor) / 100:.2f}" if r.currency else ""
        table.add_row(
            f"#{r.id}",
            r.key,
            r.reason or "",
            r.owner or "",
            r.system or "",
            r.field or "",
            impact,
            escape((r.detail or "")[:160]),
        )
    Console().print(table)


@exc_app.command("show")
def exc_show(
    ident: Annotated[str, typer.Argument(help="Ledger id (#12) or the order id.")],
    config: ConfigOpt = Path("trueup.toml"),
    as_json: JsonOpt = False,
) -> None:
    """Show one exception: its reason, owner, resolution, payload and audit trail."""
    from trueup.store.exceptions import show

    store = _store(config)
    with store.tx() as conn:
        found = show(conn, ident)
    if found is None:
        _fail(f"no work item {ident!r}")
        return
    if as_json:
        print(json.dumps(found, indent=2, default=str))
        return
    out = Console()
    for key in ("id", "kind", "key", "status", "reason", "owner", "system", "field", "attempts", "detail"):
        out.print(f"[bold]{key}[/]: {escape(str(found[key]))}")
    for entry in found["audit"]:
        out.print(escape(f"  {entry['at']} {entry['actor']} {entry['action']}: {entry['note']}"))


def _act(
    action: str, idents: list[str], reason: str | None, config: Path, note: str, actor: str, as_json: bool
) -> None:
    from trueup.runtime.clock import SystemClock
    from trueup.store.exceptions import act, find, list_exceptions

    if not note:
        _fail(f"{action} needs --note saying why (it is kept in the audit trail)")
    store = _store(config)
    now = SystemClock().now()
    results: list[dict[str, Any]] = []
    with store.tx() as conn:
        rows = [find(conn, i) for i in idents]
        if reason:
            rows += list_exceptions(conn, reason=reason, limit=100_000)
        for ident, row in zip(idents + [""] * (len(rows) - len(idents)), rows, strict=True):
            if row is None:
                results.append({"id": ident, "ok": False, "error": "not found"})
                continue
            ok = act(conn, action, row, actor=actor, note=note, now=now)
            results.append(
                {
                    "id": row.id,
                    "key": row.key,
                    "ok": ok,
                    **({} if ok else {"error": f"status {row.status} does not allow {action}"}),
                }
            )
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            console.print(f"{action} {r.get('key', r['id'])}: {'ok' if r['ok'] else r['error']}")
    if not results or not all(r["ok"] for r in results):
        raise typer.Exit(1)


@exc_app.command("retry")
def exc_retry(
    idents: Annotated[list[str] | None, typer.Argument(help="Ledger ids or order ids.")] = None,
    reason: Annotated[str | None, typer.Option(help="Bulk: every open exception with this reason.")] = None,
    config: ConfigOpt = Path("trueup.toml"),
    note: NoteOpt = "",
    actor: ActorOpt = _default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Queue exceptions to run again (after fixing the cause)."""
    _act("retry", idents or [], reason, config, note, actor, as_json)


@exc_app.command("resolve")
def exc_resolve(
    idents: Annotated[list[str], typer.Argument(help="Ledger ids or order ids.")],
    config: ConfigOpt = Path("trueup.toml"),
    note: NoteOpt = "",
    actor: ActorOpt = _default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Mark exceptions as fixed outside trueup (e.g. keyed into the ERP by hand)."""
    _act("resolve", idents, None, config, note, actor, as_json)


@exc_app.command("ignore")
def exc_ignore(
    idents: Annotated[list[str], typer.Argument(help="Ledger ids or order ids.")],
    config: ConfigOpt = Path("trueup.toml"),
    note: NoteOpt = "",
    actor: ActorOpt = _default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Close exceptions that need no action."""
    _act("ignore", idents, None, config, note, actor, as_json)


@app.command()
def manual(
    part: Annotated[str, typer.Argument(help="Which part: exceptions.")] = "exceptions",
) -> None:
    """Print the generated operating manual (Markdown)."""
    from trueup.manual import exceptions_markdown

    if part != "exceptions":
        _fail(f"unknown manual part {part!r}; expected: exceptions")
    sys.stdout.write(exceptions_markdown())


def main() -> None:
    app()
