"""`trueup exceptions retry|accept-and-post|map-and-retry|edit-and-post|resolve|ignore|reconcile`.

Each calls trueup.queue.QueueActions (the web dashboard calls the same). Every action needs --note and an
actor (--actor or TRUEUP_ACTOR; never the Unix user silently). A bad request (an unknown id or reason, no
note) exits 2 and changes nothing; an action a row's status does not allow exits 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from trueup.cli.common import ConfigOpt, JsonOpt, NoteOpt, console, exc_app, fail, load
from trueup.cli.exceptions import OwnerOpt, ReasonOpt, SinceOpt, check_filters, moment, open_store
from trueup.queue import ActionResult, QueueActions, QueueError, Selection

ActorOpt = Annotated[
    str,
    typer.Option(
        "--actor",
        envvar="TRUEUP_ACTOR",
        metavar="NAME",
        help="Who is acting (required; audited).",
        show_envvar=True,
    ),
]
IdentsOpt = Annotated[list[str] | None, typer.Argument(metavar="ID", help="Ledger ids (#12) or order ids.")]
IdentArg = Annotated[str, typer.Argument(metavar="ID", help="Ledger id (#12) or the order id.")]


def _service(config: Path) -> QueueActions:
    cfg = load(config)
    flow = cfg.flows.orders
    return QueueActions(
        open_store(config), line_tax_tolerance=flow.line_tax_tolerance, tax_tolerance=flow.tax_tolerance
    )


def _run(call: Callable[[], list[ActionResult]], as_json: bool) -> None:
    try:
        results = call()
    except QueueError as exc:
        fail(str(exc))
        return
    if as_json:
        print(json.dumps([r.as_dict() for r in results], indent=2, default=str))
    else:
        for r in results:
            outcome = "ok" if r.ok else f"not done: {r.error}"
            console.print(escape(f"{r.action} #{r.id} {r.key}: {outcome}"), highlight=False)
        done = sum(r.ok for r in results)
        console.print(f"{done} of {len(results)} done", highlight=False)
    if not results:
        fail("nothing matched: no open exception fits the selection", code=1)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def _selection(
    idents: list[str] | None, reason: str | None, owner: str | None, since: str | None
) -> Selection:
    check_filters(reason, owner)
    return Selection(tuple(idents or ()), reason, owner, moment(since))


def _bulk(action: str, doc: str) -> None:
    def command(
        idents: IdentsOpt = None,
        reason: ReasonOpt = None,
        owner: OwnerOpt = None,
        since: SinceOpt = None,
        note: NoteOpt = "",
        actor: ActorOpt = "",
        config: ConfigOpt = Path("trueup.toml"),
        as_json: JsonOpt = False,
    ) -> None:
        selection = _selection(idents, reason, owner, since)
        service = _service(config)
        _run(lambda: getattr(service, action)(selection, actor=actor, note=note), as_json)

    command.__doc__ = doc
    exc_app.command(action.replace("_", "-"))(command)


_bulk(
    "retry", "Queue exceptions to run again, after fixing the cause. Name ids, or --reason/--owner/--since."
)
_bulk(
    "accept_and_post",
    "Accept a tax or totals variance as the storefront has it, and post the order.\n\nThe order posts with "
    "the storefront's figures; the variance goes to finance's list (`trueup exceptions variances`).",
)
_bulk("resolve", "Close exceptions fixed outside trueup (e.g. keyed into the ERP by hand).")
_bulk("ignore", "Close exceptions that need nothing.")


@exc_app.command("map-and-retry")
def exc_map(
    ident: IdentArg,
    to: Annotated[
        str,
        typer.Option("--to", metavar="TARGET", help="The ERP SKU, or the ERP carrier as CARRIER/SERVICE."),
    ] = "",
    source: Annotated[
        str | None,
        typer.Option(
            metavar="VALUE", help="The storefront SKU or shipping method (default: the exception's)."
        ),
    ] = None,
    note: NoteOpt = "",
    actor: ActorOpt = "",
    config: ConfigOpt = Path("trueup.toml"),
    as_json: JsonOpt = False,
) -> None:
    """Map an unknown SKU or shipping method to the ERP's, and retry every exception that used it.

    The mapping is kept in trueup's store and merged under the configured mappings (the config wins)."""
    if not to:
        fail("say what it maps to with --to (an ERP SKU, or CARRIER/SERVICE for a carrier)")
    service = _service(config)
    _run(lambda: service.map_and_retry(ident, to, actor=actor, note=note, source=source), as_json)


@exc_app.command("edit-and-post")
def exc_edit(
    ident: IdentArg,
    changes: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="FIELD=VALUE",
            help="e.g. shipping_address.postcode='SW1A 1AA'; a street's lines joined with '|'. Repeatable.",
        ),
    ] = None,
    note: NoteOpt = "",
    actor: ActorOpt = "",
    config: ConfigOpt = Path("trueup.toml"),
    as_json: JsonOpt = False,
) -> None:
    """Correct the address trueup holds for an order, then post it.

    The audit names the fields changed, not the values. Correct it in the storefront too."""
    parsed: dict[str, str] = {}
    for change in changes or []:
        field, sep, value = change.partition("=")
        if not sep:
            fail(f"--set {change!r}: expected FIELD=VALUE, e.g. shipping_address.city=Leeds")
        parsed[field.strip()] = value
    service = _service(config)
    _run(lambda: service.edit_and_post(ident, parsed, actor=actor, note=note), as_json)


@exc_app.command("reconcile")
def exc_reconcile(
    ids: Annotated[list[int], typer.Argument(metavar="VARIANCE", help="Variance ids (from `variances`).")],
    note: NoteOpt = "",
    actor: ActorOpt = "",
    config: ConfigOpt = Path("trueup.toml"),
) -> None:
    """Finance: mark accepted variances as reconciled (the journal is posted)."""
    try:
        done = _service(config).reconcile(ids, actor=actor, note=note)
    except QueueError as exc:
        fail(str(exc))
        return
    console.print(f"{done} of {len(ids)} variances reconciled")
    if done != len(ids):
        raise typer.Exit(1)
