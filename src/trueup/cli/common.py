"""What every command group shares: the Typer apps, the console, the common options and helpers."""

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
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from trueup.cli import help as _help
from trueup.config import Config, load_config
from trueup.errors import Fatal

_help.install()  # plain metavars: --limit INTEGER, IDENT, nothing after a flag

# Tracebacks never print local variables: they hold customers' personal data and tokens (R-SEC-2).
app = typer.Typer(
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
    pretty_exceptions_show_locals=False,
    help="Keeps a storefront and an ERP true.",
)
sync_app = typer.Typer(no_args_is_help=True, help="Run one flow now.")
exc_app = typer.Typer(
    no_args_is_help=True,
    help="The exception queue: list, show, and the actions that fix (retry, accept-and-post, map-and-retry, "
    "edit-and-post, resolve, ignore).",
)
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


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version as installed

        sys.stdout.write(f"trueup {installed('trueup')}\n")
        raise typer.Exit(0)


@app.callback()
def _global(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Deployment config file, for every command.")
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", is_eager=True, callback=_print_version, help="Print trueup's version and exit."
        ),
    ] = False,
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level",
            envvar="TRUEUP_LOG_LEVEL",
            help="debug, info, warning or error; log lines go to stderr with personal data masked.",
        ),
    ] = "warning",
) -> None:
    """Keeps a storefront and an ERP true to each other."""
    from trueup.security.logs import LEVELS, setup_logging

    if log_level.lower() not in LEVELS:
        fail(f"--log-level {log_level!r}: expected one of {', '.join(LEVELS)}")
    setup_logging(log_level.lower())
    if config is not None:
        os.environ["TRUEUP_CONFIG"] = str(config)  # every command's --config defaults to this


def default_actor() -> str:
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return "unknown"


def fail(message: str, code: int = 2) -> None:
    from trueup.security.pii import mask_text

    console.print(f"[bold red]error:[/] {escape(mask_text(message))}")  # a message may name a [section]
    raise typer.Exit(code)


def load(path: Path) -> Config:
    try:
        return load_config(path)
    except Fatal as exc:
        fail(str(exc))
        raise AssertionError from exc


# Set by `trueup.cli.main`, the process's entry point: the process ends with this command.
ENDS_WITH_COMMAND = False


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    # Everything imported so far lives as long as the process: keep the cyclic GC from re-scanning it, and
    # let it run rarely. The engine allocates many records per order and nearly all die by reference
    # counting; each young collection walks what is alive at that moment (a page of orders in flight, the
    # cache of fresh ones), so a low threshold re-walks the same live records again and again. At 50,000
    # the collector took 7% of the engine's CPU; at 500,000 under 1% (measured over 20,000 orders), and
    # what it frees is a few thousand cyclic objects (asyncio's futures and tracebacks).
    # Both are undone after the run, so that a process that goes on (a test calling the CLI) keeps its own;
    # a process that ends with the command leaves them be: thawed, the next collection would walk every
    # object of the run once more (40-50 ms after 10,000 orders) just before the process exits.
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(500_000, 20, 20)
    # The database thread gives up the GIL at every SQLite step and must win it back from the event loop,
    # which holds it for up to the switch interval once asked: at Python's 5 ms, the thread spent 2.5 times
    # its CPU time waiting, and the loop then waited on it (10,000 orders: the database thread's wall time
    # 3.3 s at 5 ms, 2.5 s at 1 ms and at 0.2 ms; see trueup.store.many for the steps it saves).
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        try:
            import uvloop
        except ImportError:
            return asyncio.run(coro)
        return uvloop.run(coro)
    finally:
        if not ENDS_WITH_COMMAND:
            gc.set_threshold(*threshold)
            gc.unfreeze()
            sys.setswitchinterval(switch)


def emit_jsonl(event: dict[str, object]) -> None:
    from trueup.security.pii import mask_text

    # an event's error text may quote what a system answered, the customer's e-mail included
    sys.stdout.write(mask_text(json.dumps(event, default=str)) + "\n")
    sys.stdout.flush()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM raise KeyboardInterrupt, which the block's exit swallows: a
    stop is asked for, not a failure. Installed before serving, so a SIGTERM at any moment stops cleanly."""
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with contextlib.suppress(KeyboardInterrupt):
            yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM. The signal may land on a server thread, and Python runs handlers only in
    the main thread between bytecodes, so the wait wakes twice a second to let them run."""
    forever = threading.Event()
    with stop_on_signals():
        while not forever.wait(0.5):
            pass


def print_result(label: str, result: dict[str, Any], *, as_json: bool) -> None:
    """A one-pass command's result: one JSON line on stdout for scripts, or a labelled line for people."""
    if as_json:
        sys.stdout.write(json.dumps(result, default=str) + "\n")
    else:
        from trueup.cli.summary import readable

        console.print(f"{label}: {escape(readable(result))}", highlight=False)
