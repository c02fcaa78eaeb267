"""The `trueup` command line: one module per command group, all on one Typer app."""

from trueup.cli import demo, exceptions, prices, sandbox, setup, stock, sync
from trueup.cli.common import app

__all__ = ["app", "demo", "exceptions", "main", "prices", "sandbox", "setup", "stock", "sync"]


def main() -> None:
    app()
