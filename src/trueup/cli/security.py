"""`trueup keygen`, `purge` and `erase`: the payload key, retention, and the right to erasure."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from trueup.cli.common import ActorOpt, ConfigOpt, JsonOpt, NoteOpt, app, console, default_actor, fail, load


@app.command()
def keygen() -> None:
    """Print a new payload encryption key, for the secret store (TRUEUP_PAYLOAD_KEY)."""
    from trueup.security.crypto import new_key

    print(new_key())


def _days(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)d?", text.strip())
    if not match or int(match.group(1)) < 1:
        fail(f"--older-than {text!r}: expected a number of days, e.g. 30d")
        raise AssertionError
    return timedelta(days=int(match.group(1)))


@app.command()
def purge(
    config: ConfigOpt = Path("trueup.toml"),
    older_than: Annotated[
        str | None,
        typer.Option("--older-than", help="e.g. 30d; default [security] retention_days."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, change nothing.")] = False,
    actor: ActorOpt = default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Purge the payloads (customers' personal data) of rows finished longer ago than the retention.
    Keys, statuses, amounts, links and the audit trail stay."""
    from trueup.runtime.clock import SystemClock
    from trueup.security.retention import purge as purge_rows
    from trueup.store import Store

    cfg = load(config)
    age = _days(older_than) if older_than else timedelta(days=cfg.security.retention_days)
    store = Store(cfg.runtime.database_url)
    try:
        with store.tx() as conn:
            count = purge_rows(conn, SystemClock().now(), age, actor=actor, dry_run=dry_run)
    finally:
        store.close()
    if as_json:
        print(json.dumps({"purged": count, "dry_run": dry_run, "older_than_days": age.days}))
    else:
        verb = "would purge" if dry_run else "purged"
        console.print(f"{verb} {count} payloads of rows finished more than {age.days} days ago")


@app.command()
def erase(
    email: Annotated[str, typer.Option("--email", help="The customer's e-mail address.")],
    config: ConfigOpt = Path("trueup.toml"),
    order: Annotated[str | None, typer.Option("--order", help="Only this order id.")] = None,
    note: NoteOpt = "",
    actor: ActorOpt = default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Right to erasure: remove one customer's personal data from every order trueup holds for them.
    Order ids, amounts and links stay; the erasure is audited under a hash of the address."""
    from trueup.runtime.clock import SystemClock
    from trueup.security.crypto import cipher_for
    from trueup.security.retention import email_hash
    from trueup.security.retention import erase as erase_rows
    from trueup.store import Store

    if not note:
        fail("erase needs --note naming the request (e.g. its ticket); it is kept in the audit trail")
    if "@" not in email:
        fail("--email: expected an e-mail address")
    cfg = load(config)
    store = Store(cfg.runtime.database_url, cipher=cipher_for(cfg))
    try:
        with store.tx() as conn:
            done = erase_rows(
                conn, email, store.cipher, SystemClock().now(), actor=actor, note=note, order=order
            )
    finally:
        store.close()
    summary = {
        "customer": email_hash(email),
        "erased_orders": done.erased,
        "audit_rows": done.audit_rows,
        "left_in_work": [{"key": k, "status": s} for k, s in done.unfinished],
    }
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        orders = ", ".join(done.erased)
        console.print(f"erased {summary['customer']} from {len(done.erased)} orders: {orders}")
        for key, status in done.unfinished:
            console.print(
                f"[yellow]left:[/] order {key} is {status}: close it (exceptions ignore/resolve), then erase"
            )
    if done.unfinished:
        raise typer.Exit(1)
