"""`trueup shadow --since ... --until ...`: a cutover report. trueup plans every storefront order of the
period as it would post it (nothing is applied or written), reads what the incumbent integration posted to
the ERP under each order's id, and reports order by order where they differ, with the money at risk."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.markup import escape

from trueup.cli.common import ConfigOpt, JsonOpt, app, console, fail, load, run_async
from trueup.errors import Fatal

SinceOpt = Annotated[str, typer.Option("--since", help="Orders placed from (ISO date or date-time, UTC).")]
UntilOpt = Annotated[
    str, typer.Option("--until", help="Orders placed until (ISO date-time, UTC; a date: its end).")
]
OutOpt = Annotated[Path, typer.Option("--out", help="Folder for shadow-<since>.html, .csv and .json.")]


def _moment(text: str, flag: str, *, end: bool = False) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{flag} {text!r} is not a date-time; expected e.g. 2026-11-01 or 2026-11-01T09:30:00")
        raise AssertionError from None
    if end and len(text) == 10:  # a date alone: the whole day
        value = value.replace(hour=23, minute=59, second=59)
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


@app.command("shadow")
def shadow(
    since: SinceOpt,
    until: UntilOpt = "",
    config: ConfigOpt = Path("trueup.toml"),
    out: OutOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Compare trueup's plan with what the incumbent integration posted to the ERP (read only).

    Exit 1 when any order differs, 0 when every order agrees, 2 on an error."""
    from trueup.checks.shadow import ShadowReport
    from trueup.checks.shadow_render import write_csv, write_html, write_json
    from trueup.deployment import open_deployment
    from trueup.ports import PostedOrders
    from trueup.runtime.shadow import shadow as run_shadow

    start = _moment(since, "--since")
    end = _moment(until, "--until", end=True) if until else datetime.now(UTC)
    if end < start:
        fail(f"--until {until} is before --since {since}")
    cfg = load(config)

    async def go() -> ShadowReport:
        async with open_deployment(cfg) as dep:
            erp = dep.orders.sink
            if not hasattr(erp, "posted_order"):
                raise Fatal(f"ERP {cfg.erp.name} cannot read its sales orders back: no shadow run for it yet")
            return await run_shadow(
                dep.orders.source,
                dep.orders.item_map,
                dep.orders.rules,
                cast(PostedOrders, erp),
                start,
                end,
                datetime.now(UTC),
            )

    try:
        report = run_async(go())
    except Fatal as exc:
        fail(str(exc))
        return
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"shadow-{start:%Y%m%d}"
    files = [
        write_html(report, stem.with_suffix(".html")),
        write_csv(report, stem.with_suffix(".csv")),
        write_json(report, stem.with_suffix(".json")),
    ]
    summary = report.summary() | {"files": [str(f) for f in files]}
    if as_json:
        print(json.dumps(summary))
    else:
        console.print(
            f"{report.orders} orders: trueup would post {report.would_post}, "
            f"the incumbent posted {report.incumbent_posted}"
        )
        for kind, count in report.by_kind().items():
            if count:
                console.print(f"[bold]{kind}[/] {count}")
        for currency, minor in report.money_by_currency().items():
            console.print(f"money at risk {Decimal(minor) / 100} {escape(currency)}")
        console.print(f"wrote {escape(', '.join(str(f) for f in files))}")
    raise typer.Exit(1 if report.differences else 0)
