"""`trueup exceptions list|show|variances`: the exception queue from the terminal (reading it).

The actions (retry, accept-and-post, …) are in cli/queue_actions.py; both go through trueup.queue.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from trueup.cli.common import ConfigOpt, JsonOpt, NoteOpt, exc_app, fail, load
from trueup.model.exceptions import Owner, Reason

CsvOpt = Annotated[bool, typer.Option("--csv", help="CSV on stdout (for a spreadsheet).")]
ReasonOpt = Annotated[str | None, typer.Option(metavar="CODE", help="Only this reason code.")]
OwnerOpt = Annotated[str | None, typer.Option(metavar="TEAM", help="Only this owner team.")]
SinceOpt = Annotated[
    str | None, typer.Option(metavar="DATE-TIME", help="Only those changed since (UTC, e.g. 2026-11-01).")
]


def open_store(config: Path) -> Any:
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


def check_filters(reason: str | None, owner: str | None) -> None:
    if reason is not None and reason not in {str(r) for r in Reason}:
        fail(f"unknown reason {reason!r}; the codes are listed by `trueup manual exceptions`")
    if owner is not None and owner not in {str(o) for o in Owner}:
        fail(f"unknown owner {owner!r}; expected one of {', '.join(Owner)}")


def moment(text: str | None, flag: str = "--since") -> datetime | None:
    from datetime import UTC

    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{flag} {text!r} is not a date-time; expected e.g. 2026-11-01 or 2026-11-01T09:30:00")
        raise AssertionError from None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _impact(minor: int, currency: str | None) -> str:
    return f"{currency} {Decimal(minor) / 100:,.2f}" if currency else ""


def _age(updated: str, now: datetime) -> str:
    seconds = max(0, int((now - datetime.fromisoformat(updated)).total_seconds()))
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def write_csv(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()})


@exc_app.command("list")
def exc_list(
    config: ConfigOpt = Path("trueup.toml"),
    status: Annotated[
        str, typer.Option(metavar="open|cleared|ignored|all", help="Which: open (needs a person), cleared, …")
    ] = "open",
    reason: ReasonOpt = None,
    owner: OwnerOpt = None,
    since: SinceOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many (oldest first).")] = 100,
    wide: Annotated[
        bool, typer.Option("--wide", help="Every column, the full text and its Resolution.")
    ] = False,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """List exceptions: one line each (fits 80 columns); --wide for the text, --json or --csv for tools."""
    from dataclasses import replace

    from trueup.runtime.clock import SystemClock
    from trueup.security.pii import mask_text
    from trueup.store.exceptions import VIEWS, list_exceptions

    if status not in VIEWS:
        fail(f"--status {status!r}: expected one of {', '.join(VIEWS)}")
    check_filters(reason, owner)
    store = open_store(config)
    with store.tx() as conn:
        every = list_exceptions(
            conn, view=status, reason=reason, owner=owner, since=moment(since), limit=None
        )
    # texts are written without personal data; rows written before that may still quote an e-mail or phone
    rows = [replace(r, detail=mask_text(r.detail)) if r.detail else r for r in every[:limit]]
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    if as_csv:
        write_csv([r.as_dict() for r in rows])
        return
    shown = f" (showing the first {len(rows)}; --limit)" if len(rows) < len(every) else ""
    what = " ".join(x for x in (reason, owner and f"owned by {owner}") if x)
    title = f"{len(every)} {status} exceptions{' ' + what if what else ''}{shown}"
    out = Console(soft_wrap=False)
    now = SystemClock().now()
    if not wide:
        out.print(title, highlight=False)
        if rows:
            out.print(
                f"{'ID':<7}{'KEY':<15}{'REASON':<27}{'OWNER':<10}{'AGE':>5} {'IMPACT':>14}", style="bold"
            )
        for r in rows:
            line = (
                f"{'#' + str(r.id):<7}{r.key[:14]:<15}{(r.reason or '')[:26]:<27}{(r.owner or '')[:9]:<10}"
                f"{_age(r.updated_at, now):>5} {_impact(r.impact_minor, r.currency)[:14]:>14}"
            )
            out.print(escape(line), highlight=False)
        if rows:
            out.print("More: --wide; one in full: trueup exceptions show '#ID'", style="dim", highlight=False)
        return
    table = Table(title=title, show_lines=True)
    for col in ("id", "key", "status", "reason", "owner", "at fault", "field", "attempts", "age", "impact"):
        table.add_column(col, overflow="fold")
    table.add_column("detail and resolution", overflow="fold", ratio=1)
    for r in rows:
        table.add_row(
            f"#{r.id}", escape(r.key), r.status, r.reason or "", r.owner or "", r.system or "", r.field or "",
            str(r.attempts), _age(r.updated_at, now), _impact(r.impact_minor, r.currency),
            escape(r.detail or ""),
        )  # fmt: skip
    Console().print(table)


@exc_app.command("show")
def exc_show(
    ident: Annotated[str, typer.Argument(metavar="ID", help="Ledger id (#12) or the order id.")],
    config: ConfigOpt = Path("trueup.toml"),
    as_json: JsonOpt = False,
    reveal: Annotated[
        bool,
        typer.Option("--reveal", help="Show the customer's personal data unmasked (needs --note; audited)."),
    ] = False,
    note: NoteOpt = "",
    actor: Annotated[
        str, typer.Option("--actor", envvar="TRUEUP_ACTOR", help="Who is looking (for --reveal; audited).")
    ] = "",
) -> None:
    """Show one exception in full: Resolution, actions, payload, history and audit.

    Reason, owner, Resolution and the actions that apply, timestamps and attempts, the payload (personal
    data masked unless --reveal, which is audited), its history and audit trail."""
    from trueup.security.reveal import masked_view, record_reveal
    from trueup.store.exceptions import show

    if reveal and not note:
        fail("--reveal needs --note saying why the personal data is needed (it is kept in the audit trail)")
    if reveal and not actor:
        fail("--reveal needs --actor (or TRUEUP_ACTOR): who saw the personal data is kept in the audit trail")
    store = open_store(config)
    with store.tx() as conn:
        found = show(conn, ident, store.cipher)
        if found is not None and reveal:
            # audited in the same transaction as the read: no reveal goes unrecorded
            record_reveal(conn, found, actor=actor, note=note)
    if found is None:
        fail(f"no exception {ident!r} (expected #id or an order id; see `trueup exceptions list`)")
        return
    if not reveal:
        from trueup.security.pii import mask_text

        found = masked_view(found)
        # a person's note may quote the customer's e-mail or phone, like an audit note
        found["history"] = [{**e, "note": mask_text(str(e.get("note") or ""))} for e in found["history"]]
    if as_json:
        print(json.dumps(found, indent=2, default=str))
        return
    _print_found(found, reveal)


def _print_found(found: dict[str, Any], reveal: bool) -> None:
    from trueup.security.pii import mask_text

    out = Console(highlight=False)
    out.print(f"[bold]#{found['id']} {escape(found['key'])}[/] ({found['kind']}): {found['status']}")
    for label, key in (("reason", "reason"), ("owner", "owner"), ("at fault", "system"), ("field", "field")):
        if found.get(key):
            out.print(f"  {label}: {escape(str(found[key]))}")
    impact = _impact(found["impact_minor"], found["currency"])
    out.print(f"  attempts: {found['attempts']}" + (f"   impact: {impact}" if impact else ""))
    out.print(f"  raised: {found['created_at']}   last change: {found['updated_at']}")
    if found.get("detail"):
        out.print("[bold]what happened[/]")
        out.print("  " + escape(found["detail"]))
    if found.get("actions") and found["status"] not in ("done", "resolved"):
        out.print("[bold]actions[/] (each needs --note and --actor or TRUEUP_ACTOR)")
        for action in found["actions"]:
            out.print(f"  trueup exceptions {action.replace('_', '-')} '#{found['id']}' --note '…'")
    out.print("[bold]history[/]")
    for e in found.get("history", []):
        who = f" by {e['actor']}" if e["event"] == "action" else ""
        what = e["action"] or e.get("reason") or ""
        text = mask_text(str(e.get("note") or ""))
        out.print(escape(f"  {e['at']}  {e['event']:<7} {what}{who}: {text}".rstrip(": ")))
    out.print("[bold]payload[/]" + ("" if reveal else " (personal data masked; --reveal to show)") + ":")
    out.print(escape(json.dumps(found["payload"], indent=2, default=str)), soft_wrap=True)
    if found["audit"]:
        out.print("[bold]audit[/]")
        for entry in found["audit"]:
            out.print(escape(f"  {entry['at']} {entry['actor']} {entry['action']}: {entry['note']}"))


@exc_app.command("variances")
def exc_variances(
    config: ConfigOpt = Path("trueup.toml"),
    status: Annotated[str, typer.Option(metavar="open|reconciled|all", help="Which variances.")] = "open",
    since: SinceOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Finance's reconciliation list: variances accepted with accept-and-post.

    Each with the order's ERP document once it has posted. Then: `exceptions reconcile`."""
    from trueup.queue import QueueActions

    if status not in ("open", "reconciled", "all"):
        fail(f"--status {status!r}: expected open, reconciled or all")
    rows = QueueActions(open_store(config)).variances(status=status, since=moment(since))
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    if as_csv:
        write_csv(rows)
        return
    out = Console(highlight=False)
    out.print(f"{len(rows)} {status} accepted variances")
    for v in rows:
        posted = f"posted as {v['erp_ref']}" if v["posted"] else f"not posted yet ({v['order_status']})"
        out.print(
            escape(
                f"  v{v['id']} order {v['key']}: {v['reason']} {v['field']} storefront {v['actual']} vs "
                f"{v['expected']} (variance {v['currency']} {v['variance']}), "
                f"accepted by {v['actor']}, {posted}"
            )
        )
