"""What an alert and a digest say: the exception, its owner, its Resolution and the action to take.

Free text from the ledger goes out masked (e-mail addresses, phone numbers): an alert leaves trueup for
mailboxes and chat rooms."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from trueup.alerts.channels import Message
from trueup.alerts.outbox import Due
from trueup.model.exceptions import REASONS, Action, Reason, actions_for
from trueup.security.pii import mask_text

DIGEST_LISTED = 1000  # a digest names this many exceptions, then says how many more


def delivery_id(channel: str, reason: str, keys: Sequence[str]) -> str:
    """Stable for the same rows, so that a message sent twice (at-least-once) carries the same id."""
    digest = hashlib.sha256("\n".join([channel, reason, *keys]).encode("utf-8")).hexdigest()
    return f"trueup-{digest[:40]}"


def _title(reason: str) -> str:
    try:
        return REASONS[Reason(reason)].title
    except ValueError:
        return reason


def resolution(reason: str) -> str:
    try:
        return REASONS[Reason(reason)].resolution
    except ValueError:
        return "See docs/exceptions.md."


def action(reason: str, ident: str | None) -> str:
    """The commands that close the exception, once the Resolution has been carried out: first the one this
    reason offers beyond the common three (model/exceptions.py ACTIONS), then retry, resolve and ignore."""
    target = f"'{ident}'" if ident else f"--reason {reason}"
    one = f"'{ident}'" if ident else "'<id>'"
    special = {
        Action.ACCEPT_AND_POST: f"If the storefront's figures are right: trueup exceptions accept-and-post "
        f"{target} --note '…' (finance reconciles the variance). ",
        Action.MAP_AND_RETRY: f"If it is the ERP's under another code: trueup exceptions map-and-retry {one} "
        "--to <ERP code> --note '…' (retries every exception it unblocks). ",
        Action.EDIT_AND_POST: f"To correct the address trueup holds: trueup exceptions edit-and-post {one} "
        "--set FIELD=VALUE --note '…'. ",
    }
    first = "".join(special.get(a, "") for a in actions_for(reason))
    return first + (
        f"After fixing the cause: trueup exceptions retry {target} --note '<what you did>'. "
        f"If it was put right outside trueup: trueup exceptions resolve {target} --note '…'; "
        f"if it needs nothing: trueup exceptions ignore {target} --note '…'."
    )


def _money(minor: int, currency: str | None) -> str:
    if not minor:
        return ""
    return f"{currency or ''} {Decimal(minor).scaleb(-2):,.2f}".strip()


def _item(row: Due) -> dict[str, Any]:
    return {
        "id": row.work_id,
        "kind": row.kind,
        "key": row.work_key,
        "detail": mask_text(row.detail or ""),
        "field": row.field or "",
        "system": row.system or "",
        "impact": _money(row.impact_minor, row.currency),
        "impact_minor": row.impact_minor,
        "currency": row.currency,
        "raised_at": row.raised_at.isoformat(timespec="seconds"),
    }


def alert(row: Due, team: str) -> Message:
    item = _item(row)
    ident = f"#{row.work_id}"
    lines = [
        f"{_title(row.reason)} ({row.reason}), for {team}.",
        f"What: {item['kind']} {item['key']} (ledger {ident}), raised {item['raised_at']} UTC"
        + (f", {item['impact']} at stake" if item["impact"] else "")
        + (f", field {item['field']}" if item["field"] else "")
        + (f", at {item['system']}" if item["system"] else "")
        + ".",
        f"Detail: {item['detail']}",
        f"Resolution: {resolution(row.reason)}",
        f"Action: {action(row.reason, ident)}",
    ]
    subject = f"[trueup] {team}: {row.reason} on {item['kind']} {item['key']}"
    data = {
        "type": "alert",
        "team": team,
        "reason": row.reason,
        "title": _title(row.reason),
        "resolution": resolution(row.reason),
        "action": action(row.reason, ident),
        "exceptions": [item],
        "count": 1,
    }
    return Message(delivery_id(row.channel, row.reason, [row.key]), subject, "\n".join(lines), data)


def digest(rows: Sequence[Due], team: str, *, after_alert: bool) -> Message:
    """The rest of a burst in one message: every exception named, with the shared Resolution and the
    bulk action."""
    reason, channel = rows[0].reason, rows[0].channel
    items = [_item(r) for r in rows]
    head = (
        f"{len(rows)} more {_title(reason)} ({reason}) exceptions for {team}"
        + (" since the alert just sent" if after_alert else " in a burst")
        + "; one alert per exception would be noise, so here they are together."
    )
    listed = [
        f"- {i['kind']} {i['key']} (#{i['id']}), {i['raised_at']}"
        + (f", {i['impact']}" if i["impact"] else "")
        for i in items[:DIGEST_LISTED]
    ]
    if len(items) > DIGEST_LISTED:
        listed.append(f"- … and {len(items) - DIGEST_LISTED} more: trueup exceptions list --reason {reason}")
    text = "\n".join(
        [
            head,
            f"Resolution: {resolution(reason)}",
            f"Action: {action(reason, None)}",
            "",
            *listed,
        ]
    )
    subject = f"[trueup] {team}: {len(rows)} more {reason} exceptions (digest)"
    data = {
        "type": "digest",
        "team": team,
        "reason": reason,
        "title": _title(reason),
        "resolution": resolution(reason),
        "action": action(reason, None),
        "exceptions": items,
        "count": len(items),
    }
    return Message(delivery_id(channel, reason, [r.key for r in rows]), subject, text, data, html="")


def html_page(title: str, body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>{body}</body></html>"
    )
