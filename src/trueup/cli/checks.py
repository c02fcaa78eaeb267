"""`trueup check orders`: one orphan sweep now, reporting what it found and what it repaired."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from trueup.cli.common import console, fail, load, run_async
from trueup.errors import Fatal


def check_orders(config: Path, *, as_json: bool) -> None:
    """Exit 0 when the sweep found nothing, 1 when it found (and reported) something, 2 on an error."""
    from trueup.deployment import open_deployment, orphan_sweep

    cfg = load(config)

    async def go() -> dict[str, object]:
        async with open_deployment(cfg) as dep:
            return (await orphan_sweep(dep).sync()).as_dict()

    try:
        result = run_async(go())
    except Fatal as exc:
        fail(str(exc))
        return
    if as_json:
        print(json.dumps(result, default=str))
    else:
        _print(result)
    raise typer.Exit(1 if result["found"] else 0)


def _print(result: dict[str, object]) -> None:
    console.print(
        f"orders checked {result['orders']}: found {result['found']} "
        f"(orphaned {result['orphaned']}, missing in ERP {result['missing_in_erp']}), "
        f"repaired {result['repaired']}, cleared {result['cleared']}, re-sent {result['resent']}, "
        f"verified in ERP {result['verified']}"
    )
    findings = result["findings"]
    assert isinstance(findings, list)
    for f in findings:
        fixed = " [green](repaired)[/]" if f["repaired"] else ""
        console.print(f"[bold]{f['reason']}[/] {escape(str(f['key']))}{fixed}: {escape(str(f['message']))}")
