"""`trueup sync refunds`: storefront credit memos become ERP credit notes, returns restocked (one pass)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from trueup.cli.common import ConfigOpt, JsonOpt, console, emit_jsonl, fail, load, run_async, sync_app
from trueup.errors import Fatal


@sync_app.command("refunds")
def sync_refunds(
    config: ConfigOpt = Path("trueup.toml"),
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit when all is posted.")] = True,
    progress: Annotated[str, typer.Option(help="Progress output: none or jsonl.")] = "none",
    as_json: JsonOpt = False,
) -> None:
    """Read the storefront's credit memos since the cursor and post the ERP credit notes (restocking the
    lines flagged back to stock); with `[flows.refunds] enabled = false`, only watch them. Then the refund
    checks: refund drift as findings in the exception queue."""
    from trueup.deployment import open_deployment
    from trueup.store.refunds import credit_note_counts, findings_by_kind

    cfg = load(config)
    on_event = emit_jsonl if progress == "jsonl" else None

    async def go() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        async with open_deployment(cfg, on_event=on_event) as dep:
            assert dep.refund_checks is not None
            totals = await dep.engine.drain(dep.refund_schedule)
            await dep.refund_checks.sync()
            return dict(totals), credit_note_counts(dep.store), findings_by_kind(dep.store)

    try:
        totals, notes, findings = run_async(go())
    except Fatal as exc:
        fail(str(exc))
        return
    restocked = notes.pop("restocked_units")
    if as_json:
        body = {
            "pass": totals,
            "credit_notes": notes,
            "restocked_units": restocked,
            "findings_by_kind": findings,
            "enabled": cfg.flows.refunds.enabled,
        }
        sys.stdout.write(json.dumps(body) + "\n")
    else:
        console.print(f"refunds: {totals}")
        console.print(f"credit notes: {notes}, restocked units: {restocked}")
        console.print(f"findings: {findings}")


@sync_app.command("cancellations")
def sync_cancellations(
    config: ConfigOpt = Path("trueup.toml"),
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Read the orders cancelled in the storefront since the cursor: one that reached the ERP is cancelled
    there where the connector can, else a `cancelled_after_post` exception for the warehouse."""
    from trueup.deployment import open_deployment

    cfg = load(config)

    async def go() -> tuple[dict[str, int], dict[str, int]]:
        async with open_deployment(cfg) as dep:
            totals = await dep.engine.drain(dep.cancellation_schedule)
            return dict(totals), dep.store.counts("order.cancel")

    try:
        totals, counts = run_async(go())
    except Fatal as exc:
        fail(str(exc))
        return
    if as_json:
        sys.stdout.write(json.dumps({"pass": totals, "cancellations": counts}) + "\n")
    else:
        console.print(f"cancellations: {totals}, by status: {counts}")
