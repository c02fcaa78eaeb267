"""`trueup sync prices`: the ERP's price list to the storefront's base, special and tier prices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from trueup.cli.common import (
    ConfigOpt,
    JsonOpt,
    fail,
    load,
    print_result,
    run_async,
    sync_app,
)
from trueup.errors import Fatal


@sync_app.command("prices")
def sync_prices(
    config: ConfigOpt = Path("trueup.toml"),
    full: Annotated[
        bool, typer.Option("--full", help="Ignore what was pushed before: push every price.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Push the ERP's changed prices to the storefront, then check its base prices for drift."""
    from trueup.deployment import open_deployment

    cfg = load(config)

    async def go() -> dict[str, Any]:
        async with open_deployment(cfg) as dep:
            flow = dep.prices
            assert flow is not None
            flow.full = full
            totals = dict(await dep.engine.drain(dep.price_schedule))
            drift = await flow.check_drift()
            plan = flow.last_plan
            return {
                "listed": plan.listed if plan else 0,
                "changed": plan.changed if plan else 0,
                "batches": plan.batches if plan else 0,
                "pushed": flow.pushed,
                "rejected_parked": flow.rejected,
                "api_calls": flow.api_calls,
                "outcomes": totals,
                "drift": {"findings": drift.findings, "parked": drift.parked},
            }

    try:
        result = run_async(go())
    except Fatal as exc:
        fail(str(exc))
        return
    print_result("prices", result, as_json=json_out)
