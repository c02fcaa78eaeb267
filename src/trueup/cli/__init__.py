"""The `trueup` command line: one module per command group, all on one Typer app."""

import gc

# Importing the command groups allocates a few hundred thousand long-lived objects; with the default
# threshold the cyclic GC would walk them over and over (two full collections, a sixth of the start-up).
# The threshold is put back once they are imported; `run_async` sets its own for the run itself.
_THRESHOLD = gc.get_threshold()
gc.set_threshold(100_000, 50, 100)

from rich.markup import escape  # noqa: E402

from trueup.cli import (  # noqa: E402
    close,
    demo,
    exceptions,
    fulfilment,
    prices,
    queue_actions,
    refunds,  # `trueup sync refunds`
    report,
    sandbox,
    security,
    setup,
    shadow,  # `trueup shadow`: cutover report
    stock,
    sync,
    web,
)
from trueup.cli.common import app  # noqa: E402

gc.set_threshold(*_THRESHOLD)

__all__ = [
    "app",
    "close",
    "demo",
    "exceptions",
    "fulfilment",
    "main",
    "prices",
    "queue_actions",
    "refunds",
    "report",
    "sandbox",
    "security",
    "setup",
    "shadow",
    "stock",
    "sync",
    "web",
]


def main() -> None:
    from sqlalchemy.exc import DatabaseError

    from trueup.cli.common import console
    from trueup.store.db import database_trouble

    try:
        app()
    except DatabaseError as exc:  # a corrupt, locked or full database: say which and what to do, no traceback
        console.print(f"[bold red]error:[/] {escape(database_trouble(exc))}")
        raise SystemExit(2) from None
