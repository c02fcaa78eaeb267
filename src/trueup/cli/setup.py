"""`trueup init`, `check` and `manual`: setting a deployment up and handing it over."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from trueup.cli.common import (
    ConfigOpt,
    app,
    console,
    fail,
    load,
    run_async,
)
from trueup.config import EXAMPLE, Config, secret_value


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the example config.")] = Path("trueup.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented example trueup.toml."""
    if path.exists() and not force:
        fail(f"{path} exists; use --force to overwrite")
    # 0600: the file names where the secrets are, and often ends up next to them.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
        out.write(EXAMPLE)
    path.chmod(0o600)
    console.print(
        f"wrote {path}: edit it, set the secret environment variables it names, then `trueup check`"
    )


@app.command()
def check(
    config: ConfigOpt = Path("trueup.toml"),
    online: Annotated[
        bool, typer.Option("--online", help="Also reach both systems with the configured credentials.")
    ] = False,
) -> None:
    """Validate the config file (and, with --online, that both systems answer and accept the tokens)."""
    from trueup.preflight import preflight

    cfg = load(config)
    found = preflight(cfg)
    for note in found.notes:
        console.print(f"note: {escape(note)}")
    if found.problems:
        count = len(found.problems)
        console.print(f"[bold red]error:[/] {config} cannot work: {count} problem{'s' if count > 1 else ''}")
        for problem in found.problems:
            console.print(f"  - {escape(problem)}")
        raise typer.Exit(2)
    if cfg.storefront.auth == "oauth1":
        # Magento generates each of the four values as exactly 32 characters: another length is a copy
        # gone wrong (a stray space, a truncated paste). Only the length is shown, never the value.
        for env in cfg.storefront.secret_envs().values():
            value = secret_value(env)
            if value and len(value) != 32:
                console.print(f"[yellow]warning:[/] {env} is {len(value)} characters long; Magento's are 32")
    console.print(f"{config}: ok")
    if online:
        failures = run_async(_check_online(cfg))
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


@app.command()
def manual(
    part: Annotated[str, typer.Argument(help="Which part: exceptions.")] = "exceptions",
) -> None:
    """Print the generated operating manual (Markdown)."""
    from trueup.manual import exceptions_markdown

    if part != "exceptions":
        fail(f"unknown manual part {part!r}; expected: exceptions")
    sys.stdout.write(exceptions_markdown())
