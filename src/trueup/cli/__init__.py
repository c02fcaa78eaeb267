"""The `trueup` command line: one module per command group, all on one Typer app."""

from rich.markup import escape

from trueup.cli import (
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
from trueup.cli.common import app

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
