"""`trueup init`, `check` and `manual`: setting a deployment up and handing it over."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from trueup.cli.common import (
    ConfigOpt,
    JsonOpt,
    app,
    console,
    fail,
    load,
    run_async,
)
from trueup.config import Config, example_config, secret_value


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
        out.write(example_config(datetime.now(UTC)))
    path.chmod(0o600)
    console.print(
        f"wrote {path}: edit it, set the secret environment variables it names, then `trueup check`"
    )


@app.command()
def check(
    what: Annotated[
        str,
        typer.Argument(
            help="Leave out to check the config; `orders` runs one orphan sweep, `ledger` one reconciliation."
        ),
    ] = "",
    config: ConfigOpt = Path("trueup.toml"),
    online: Annotated[
        bool, typer.Option("--online", help="Also reach both systems with the configured credentials.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate the config file (and, with --online, that both systems answer and accept the tokens).

    `trueup check orders` sweeps the storefront's recent orders for paid orders with no ERP link, puts
    the missing ones into the ledger to post, and exits 1 if it found any (0 if none)."""
    if what == "ledger":  # the sales-to-ledger reconciliation, once (cli/close.py)
        from trueup.cli.close import check_ledger

        check_ledger(config, as_json=as_json)
        return
    if what:
        from trueup.cli.checks import check_orders

        if what != "orders":
            fail(f"unknown check {what!r}; expected: orders or ledger")
        check_orders(config, as_json=as_json)
        return
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
    if not os.environ.get(cfg.security.payload_key_env) and not cfg.security.payload_key_file:
        console.print(
            f"[yellow]warning:[/] {cfg.security.payload_key_env} is not set: order payloads, with the "
            "customers' personal data, are stored unencrypted (`trueup keygen` makes a key; docs/security.md)"
        )
    if (go_live := _go_live_problem(cfg)) is not None:
        fail(go_live)
    console.print(f"{config}: ok")
    if online:
        failures = run_async(_check_online(cfg))
        if failures:
            raise typer.Exit(2)


def _go_live_problem(cfg: Config) -> str | None:
    """A real store without a go-live moment, before its first pass: that pass would post its history."""
    if cfg.flows.orders.start_from is not None or cfg.storefront.is_sandbox():
        return None
    from trueup.store import Store

    url = cfg.runtime.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        first_pass = True
    else:
        store = Store(url)
        try:
            first_pass = store.cursor("orders", cfg.storefront.name) is None
        finally:
            store.close()
    if not first_pass:
        return None
    return (
        "[flows.orders] start_from is not set, and no order has been read from "
        f"{cfg.storefront.base_url} yet: the first pass would post every order the store has ever taken. "
        "Resolution: set start_from to the go-live moment (UTC), e.g. start_from = 2026-12-01T00:00:00; "
        "`trueup sync orders --since <date-time>` backfills older orders on purpose."
    )


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
    part: Annotated[
        str,
        typer.Argument(
            metavar="[operating|exceptions]", help="The whole manual, or the exception catalogue."
        ),
    ] = "operating",
    config: ConfigOpt = Path("trueup.toml"),
    html: Annotated[bool, typer.Option("--html", help="HTML instead of Markdown.")] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="DIR", help="Write manual.md and manual.html into DIR instead of printing."
        ),
    ] = None,
) -> None:
    """Print the operating manual, generated from the deployment's config (Markdown, or --html).

    For the people running the business: which system masters what, the flows and schedules, each exception
    with its owner, Resolution and actions, the daily and weekly checks per team, finance's reconciliation."""
    from trueup.manual import exceptions_markdown
    from trueup.manual.operating import manual_html, manual_markdown

    if part not in ("operating", "exceptions"):
        fail(f"unknown manual part {part!r}; expected: operating or exceptions")
    if part == "exceptions":
        sys.stdout.write(exceptions_markdown())
        return
    cfg = load(config)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "manual.md").write_text(manual_markdown(cfg), encoding="utf-8")
        (out / "manual.html").write_text(manual_html(cfg), encoding="utf-8")
        console.print(f"manual written to {out / 'manual.md'} and {out / 'manual.html'}")
        return
    sys.stdout.write(manual_html(cfg) if html else manual_markdown(cfg))
