"""`trueup exceptions …`: the exception queue from the terminal."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from trueup.cli.common import (
    ActorOpt,
    ConfigOpt,
    JsonOpt,
    NoteOpt,
    console,
    default_actor,
    exc_app,
    fail,
    load,
)


def _store(config: Path) -> Any:
    from trueup.preflight import sqlite_path
    from trueup.security.crypto import cipher_for
    from trueup.store import Store

    cfg = load(config)
    url = cfg.runtime.database_url
    path = sqlite_path(url)
    if path is not None and not path.exists():
        # Creating it would answer "0 open exceptions" from an empty database: a false all-clear.
        fail(
            f"database {path} does not exist (runtime.database_url in {config}). Resolution: correct the "
            "path; nothing has run against this one"
        )
    return Store(url, cipher=cipher_for(cfg))


@exc_app.command("list")
def exc_list(
    config: ConfigOpt = Path("trueup.toml"),
    reason: Annotated[str | None, typer.Option(help="Only this reason code.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only this owner team.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List open exceptions (parked work)."""
    from dataclasses import replace

    from trueup.security.pii import mask_text
    from trueup.store.exceptions import list_exceptions

    store = _store(config)
    with store.tx() as conn:
        rows = list_exceptions(conn, reason=reason, owner=owner, limit=limit)
    # texts are written without personal data; rows written before that may still quote an e-mail or phone
    rows = [replace(r, detail=mask_text(r.detail)) if r.detail else r for r in rows]
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    table = Table(title=f"{len(rows)} open exceptions")
    for col in ("id", "key", "reason", "owner", "at fault", "field", "impact", "detail"):
        table.add_column(col, overflow="fold")
    for r in rows:
        impact = f"{r.currency} {Decimal(r.impact_minor) / 100:.2f}" if r.currency else ""
        table.add_row(
            f"#{r.id}",
            r.key,
            r.reason or "",
            r.owner or "",
            r.system or "",
            r.field or "",
            impact,
            escape((r.detail or "")[:160]),
        )
    Console().print(table)


@exc_app.command("show")
def exc_show(
    ident: Annotated[str, typer.Argument(help="Ledger id (#12) or the order id.")],
    config: ConfigOpt = Path("trueup.toml"),
    as_json: JsonOpt = False,
    reveal: Annotated[
        bool,
        typer.Option("--reveal", help="Show the customer's personal data unmasked (needs --note; audited)."),
    ] = False,
    note: NoteOpt = "",
    actor: ActorOpt = default_actor(),
) -> None:
    """Show one exception: its reason, owner, resolution, payload and audit trail. Personal data in the
    payload is masked unless --reveal is given, which is written to the audit trail."""
    from trueup.security.reveal import masked_view, record_reveal
    from trueup.store.exceptions import show

    if reveal and not note:
        fail("--reveal needs --note saying why the personal data is needed (it is kept in the audit trail)")
    store = _store(config)
    with store.tx() as conn:
        found = show(conn, ident, store.cipher)
        if found is not None and reveal:
            # audited in the same transaction as the read: no reveal goes unrecorded
            record_reveal(conn, found, actor=actor, note=note)
    if found is None:
        fail(f"no work item {ident!r}")
        return
    if not reveal:
        found = masked_view(found)
    if as_json:
        print(json.dumps(found, indent=2, default=str))
        return
    out = Console()
    for key in ("id", "kind", "key", "status", "reason", "owner", "system", "field", "attempts", "detail"):
        out.print(f"[bold]{key}[/]: {escape(str(found[key]))}")
    out.print("[bold]payload[/]" + ("" if reveal else " (personal data masked; --reveal to show)") + ":")
    out.print(escape(json.dumps(found["payload"], indent=2, default=str)), soft_wrap=True)
    for entry in found["audit"]:
        out.print(escape(f"  {entry['at']} {entry['actor']} {entry['action']}: {entry['note']}"))


def _act(
    action: str, idents: list[str], reason: str | None, config: Path, note: str, actor: str, as_json: bool
) -> None:
    from trueup.runtime.clock import SystemClock
    from trueup.store.exceptions import act, find, list_exceptions

    if not note:
        fail(f"{action} needs --note saying why (it is kept in the audit trail)")
    store = _store(config)
    now = SystemClock().now()
    results: list[dict[str, Any]] = []
    with store.tx() as conn:
        rows = [find(conn, i) for i in idents]
        if reason:
            rows += list_exceptions(conn, reason=reason, limit=100_000)
        for ident, row in zip(idents + [""] * (len(rows) - len(idents)), rows, strict=True):
            if row is None:
                results.append({"id": ident, "ok": False, "error": "not found"})
                continue
            ok = act(conn, action, row, actor=actor, note=note, now=now)
            results.append(
                {
                    "id": row.id,
                    "key": row.key,
                    "ok": ok,
                    **({} if ok else {"error": f"status {row.status} does not allow {action}"}),
                }
            )
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            console.print(f"{action} {r.get('key', r['id'])}: {'ok' if r['ok'] else r['error']}")
    if not results or not all(r["ok"] for r in results):
        raise typer.Exit(1)


@exc_app.command("retry")
def exc_retry(
    idents: Annotated[list[str] | None, typer.Argument(help="Ledger ids or order ids.")] = None,
    reason: Annotated[str | None, typer.Option(help="Bulk: every open exception with this reason.")] = None,
    config: ConfigOpt = Path("trueup.toml"),
    note: NoteOpt = "",
    actor: ActorOpt = default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Queue exceptions to run again (after fixing the cause)."""
    _act("retry", idents or [], reason, config, note, actor, as_json)


@exc_app.command("resolve")
def exc_resolve(
    idents: Annotated[list[str], typer.Argument(help="Ledger ids or order ids.")],
    config: ConfigOpt = Path("trueup.toml"),
    note: NoteOpt = "",
    actor: ActorOpt = default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Mark exceptions as fixed outside trueup (e.g. keyed into the ERP by hand)."""
    _act("resolve", idents, None, config, note, actor, as_json)


@exc_app.command("ignore")
def exc_ignore(
    idents: Annotated[list[str], typer.Argument(help="Ledger ids or order ids.")],
    config: ConfigOpt = Path("trueup.toml"),
    note: NoteOpt = "",
    actor: ActorOpt = default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Close exceptions that need no action."""
    _act("ignore", idents, None, config, note, actor, as_json)
