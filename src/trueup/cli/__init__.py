"""The `trueup` command line: one module per command group, all on one Typer app."""

import gc

# Importing the command groups allocates a few hundred thousand long-lived objects; with the default
# threshold the cyclic GC would walk them over and over (two full collections, a sixth of the start-up).
# So the collector is off while they import; then they are frozen out of it (they live as long as the
# process) and it is turned back on. `run_async` sets its own threshold for the run itself.
_COLLECTING = gc.isenabled()
gc.disable()

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

gc.freeze()
if _COLLECTING:
    gc.enable()

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

    from trueup.cli import common
    from trueup.cli.common import console
    from trueup.store.db import database_trouble

    common.ENDS_WITH_COMMAND = True
    try:
        app()
    except DatabaseError as exc:  # a corrupt, locked or full database: say which and what to do, no traceback
        console.print(f"[bold red]error:[/] {escape(database_trouble(exc))}")
        raise SystemExit(2) from None
    finally:
        # The process ends here. Left to itself, the interpreter's last collection would walk every object
        # the run left behind (0.2-0.3 s after a 10,000-order pass, measured from the last batch to exit);
        # frozen, they are freed by reference counting alone. Nothing is lost: every write is committed,
        # and the ledger never relied on a finaliser.
        gc.freeze()
