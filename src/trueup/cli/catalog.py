"""The catalogue push behind `trueup sync items`: the ERP's item master to the storefront's products."""

from __future__ import annotations

from typing import Any

from trueup.deployment import Deployment


async def push_catalog(dep: Deployment, *, full: bool = False) -> dict[str, Any]:
    """One pass of the catalogue flow, drained; its figures for people and scripts."""
    flow = dep.catalog
    assert flow is not None
    flow.full = full
    totals = dict(await dep.engine.drain(dep.catalog_schedule))
    plan = flow.last_plan
    return {
        "listed": plan.listed if plan else 0,
        "changed": plan.changed if plan else 0,
        "batches": plan.batches if plan else 0,
        "findings": plan.findings if plan else 0,
        "pushed": flow.pushed,
        "created": flow.created,
        "rejected_parked": flow.rejected,
        "api_calls": flow.api_calls,
        "outcomes": totals,
    }
