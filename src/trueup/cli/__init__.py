"""The `trueup` command line: one module per command group, all on one Typer app."""

from trueup.cli import demo, exceptions, sandbox, security, setup, sync
from trueup.cli.common import app

__all__ = ["app", "demo", "exceptions", "main", "sandbox", "security", "setup", "sync"]


def main() -> None:
    app()
