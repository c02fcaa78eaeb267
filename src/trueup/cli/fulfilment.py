"""`trueup sync despatches`: ERP despatches become storefront shipments with tracking (one pass)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from trueup.cli.common import ConfigOpt, JsonOpt, console, emit_jsonl, fail, load, run_async, sync_app
from trueup.errors import Fatal


@sync_app.command("despatches")
def sync_despatches(
    config: ConfigOpt = Path("trueup.toml"),
    once: Annotated[
        bool,
        typer.Option(
            "--once/--no-once",
            help="One pass, then exit when all is shipped; --no-once keeps shipping on the flow's interval "
            "until Ctrl-C.",
        ),
    ] = True,
    progress: Annotated[
        str,
        typer.Option(
            metavar="auto|jsonl|none",
            help="auto: a bar on a terminal, a line every 10 s otherwise; jsonl: events on stdout.",
        ),
    ] = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Read the ERP's despatches since its cursor and create the storefront shipments, with tracking."""
    from trueup.cli.progress import PassProgress, fan_out
    from trueup.cli.sync import until_stopped
    from trueup.deployment import open_deployment
    from trueup.store.fulfilment import findings_by_kind, shipment_counts

    if progress not in ("auto", "jsonl", "none"):
        fail(f"--progress {progress!r}: expected auto, jsonl or none")
    cfg = load(config)
    bar = PassProgress("despatches", "fulfilment", console) if progress == "auto" else None
    on_event = fan_out(emit_jsonl if progress == "jsonl" else None, bar)

    async def go() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        async with open_deployment(cfg, on_event=on_event) as dep:
            assert dep.fulfilment_checks is not None
            if not once:
                await until_stopped(dep, [dep.despatch_schedule], [])
                return {}, shipment_counts(dep.store), findings_by_kind(dep.store)
            totals = await dep.engine.drain(dep.despatch_schedule)
            await dep.fulfilment_checks.sync()  # stalled orders, status drift: findings in the queue
            return dict(totals), shipment_counts(dep.store), findings_by_kind(dep.store)

    try:
        if bar is not None and once:
            with bar.shown():
                totals, shipments, findings = run_async(go())
        else:
            totals, shipments, findings = run_async(go())
    except Fatal as exc:
        fail(str(exc))
        return
    if as_json:
        sys.stdout.write(
            json.dumps({"pass": totals, "shipments": shipments, "findings_by_kind": findings}) + "\n"
        )
    else:
        from trueup.cli.summary import readable

        console.print(f"despatches: {readable(totals)}", highlight=False)
        console.print(f"shipments: {readable(shipments)}", highlight=False)
        console.print(f"findings: {readable(findings)}", highlight=False)
