"""The `trueup` command line: one module per command group, all on one Typer app."""

from trueup.cli import demo, exceptions, fulfilment, sandbox, setup, sync
from trueup.cli.common import app

__all__ = ["app", "demo", "exceptions", "fulfilment", "main", "sandbox", "setup", "sync"]


def main() -> None:
    app()
