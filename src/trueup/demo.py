"""`trueup demo`: a simulated trading day against the sandbox systems, end to end.

It generates a day of Magento orders (good ones, and bad ones with known faults), serves the Magento and
ERP emulators on loopback, runs the real order flow on an embedded SQLite database, captures the pending
payments later in the day, runs again, and reports what reached the ERP and what was parked, and why.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select

from trueup.config import dump_toml, parse_config
from trueup.deployment import Deployment, open_deployment, orphan_sweep, reconcile_task
from trueup.flows.orders import KIND
from trueup.model.work import Status
from trueup.sandbox.scenario import Scenario
from trueup.sandbox.smtp import SmtpSink
from trueup.sandbox.stock_day import StockDay, active_skus
from trueup.sandbox.world import World, trading_day
from trueup.store import Store
from trueup.store.schema import work

STOCK_SKUS = 120  # SKUs the demo's ERP counts stock for (every ERP sandbox writes its own stock records)


@dataclass
class DemoOptions:
    orders: int = 500
    seed: int = 1
    workdir: Path = Path(".trueup-demo")
    erp_error_rate: float = 0.0
    erp: str = "rest"
    days: int = 1  # more than one: a month (say) of trading, with seeded ledger variances (month_end)


def demo_config(world: World, workdir: Path, days: int = 1) -> dict[str, Any]:
    return world.config(
        f"sqlite:///{workdir / 'demo.db'}",
        storefront={"page_size": 200},
        erp={"concurrency": 32},
        flows={
            "orders": {"interval_seconds": 30, "payment_recheck_seconds": 60},
            # the day is compressed: an order not despatched by the end of it counts as stalled
            "despatches": {"stalled_after_hours": 0, "drift_grace_hours": 0},
            "refunds": {"drift_grace_hours": 0},  # a refund not posted by the end of the day is drift
        },
        runtime={"retry_base_seconds": 0.05, "retry_max_seconds": 2, "max_attempts": 10},
        # the day is compressed: today's sales are due in the ledger once the ERP invoices them
        # (two days for the one-day demo: its ten hours of orders cross midnight UTC before 10:00)
        checks={"reconcile": {"grace_hours": 0, "window_days": max(days, 2), "lookback_days": 0}},
    )


async def run_demo(
    opts: DemoOptions,
    on_event: Callable[[dict[str, object]], None] | None = None,
    hold: Callable[[World, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the trading day and return its summary. `hold`, if given, is called with the world still up
    (e.g. to let a person explore the sandboxes) before it is stopped."""
    from trueup.sandbox.faults import Faults

    scenario = trading_day(opts.seed, opts.orders) if opts.days <= 1 else trading_days(opts)
    world = World(
        scenario, erp_kind=opts.erp, erp_faults=Faults(error_rate=opts.erp_error_rate, seed=opts.seed)
    )
    world.start()
    stack = ExitStack()
    try:
        if opts.workdir.exists():
            shutil.rmtree(opts.workdir)
        opts.workdir.mkdir(parents=True)
        data = demo_config(world, opts.workdir, opts.days)
        mail = SmtpSink().start()  # alerts go to a real SMTP server on loopback
        stack.callback(mail.stop)
        data["alerts"] = demo_alerts(mail, opts.workdir)
        (opts.workdir / "trueup.toml").write_text(dump_toml(data), encoding="utf-8")
        os.environ.update(world.env())
        config = parse_config(data)
        async with open_deployment(config, on_event=on_event) as dep:
            first = await dep.engine.drain(dep.order_schedule, before=[dep.items])
            captured = world.capture_pending()
            second = await dep.engine.drain(dep.order_schedule)
            counts = dep.store.counts(KIND)
            by_reason = dep.store.counts_by_reason()  # the order exceptions; the other flows report below
            posted = dep.store.link_count("order")
            outcome_mismatches = _mismatches(scenario.expected, dep.store)
            # The item master reaches the store's products (technical attributes only).
            items = await _item_push(dep)
            # Stock and prices first: the warehouse's despatches then move the ERP's stock on their own.
            stock = await _stock_day(world, dep, opts.seed)
            prices = await _price_list(world, dep)
            before_despatch = dep.store.counts_by_reason()
            shipments = await _despatch_day(world, dep, opts.seed)
            outcome_mismatches += shipments.pop("mismatches")
            findings = shipments.pop("findings_by_kind")
            shipments["parked_by_reason"] = {
                reason: n - before_despatch.get(reason, 0)
                for reason, n in sorted(dep.store.counts_by_reason().items())
                if n > before_despatch.get(reason, 0)
            }
            # The second net: every paid order should be linked now, so a clean day finds nothing.
            orphans = await orphan_sweep(dep).sync()
            # Finance: the day's sales against the ERP's ledger (an ERP that invoices at despatch has not
            # invoiced what it has not despatched, nor what never posted: those are ledger_orphaned).
            reconciled = await reconcile_task(dep).sync()
            reconciled_kinds = cast(dict[str, int], reconciled["findings_by_kind"])
            # Customer service refunds during the day (after the sweep: a refund closes or changes orders).
            credit_notes = await _refund_day(world, dep, opts.seed)
            outcome_mismatches += credit_notes.pop("mismatches")
            restocked_units = credit_notes.pop("restocked_units")
            findings.update(credit_notes.pop("findings_by_kind"))
            month = await month_end(world, dep) if opts.days > 1 else None
            if month is not None:
                reconciled_kinds = month.pop("findings_by_kind")
                reconciled = {**reconciled, **month.pop("reconciled")}
            alerted = await _alerts(dep, mail)
        erp_counts = world.erp_order_counts()
        summary = {
            "seed": opts.seed,
            "erp": opts.erp,
            "orders": {
                "generated": len(scenario.orders),
                "posted": posted,
                "parked": counts.get(Status.PARKED, 0),
                "waiting": counts.get(Status.WAITING, 0),
                # written for a batch ERP and not yet taken or refused by its batch: not posted
                "awaiting_ack": counts.get(Status.SENT, 0),
                "payments_captured_later": captured,
            },
            "erp_sales_orders": sum(erp_counts.values()),
            "duplicate_erp_orders": sum(n - 1 for n in erp_counts.values() if n > 1),
            "shipments": shipments,
            "credit_notes": credit_notes,
            "restocked_units": restocked_units,
            "findings_by_kind": findings,
            "exceptions_by_reason": dict(sorted(by_reason.items())),
            "expected_by_reason": dict(
                sorted(Counter(v for v in scenario.expected.values() if v != "post").items())
            ),
            "outcomes_as_expected": not outcome_mismatches,
            "outcome_mismatches": outcome_mismatches[:20],
            "items": items,
            "stock": stock,
            "prices": prices,
            "passes": {"first": dict(first), "after_capture": dict(second)},
            "orphans": {"found": orphans.found, "repaired": orphans.repaired},
            "alerts": alerted,
            "reconciliation": {
                "orders": reconciled["orders"],
                "ledger": reconciled["ledger"],
                "findings_by_kind": {k: n for k, n in reconciled_kinds.items() if n},
                **(month or {}),
            },
            "database": str(opts.workdir / "demo.db"),
            "config": str(opts.workdir / "trueup.toml"),
        }
        if hold is not None:
            hold(world, summary)
        return summary
    finally:
        stack.close()
        world.stop()


def trading_days(opts: DemoOptions) -> Scenario:
    """`opts.orders` orders placed over the last `opts.days` calendar days (today included: the
    reconciliation window), the newest a few minutes ago."""
    from datetime import UTC, datetime, timedelta

    from trueup.sandbox.scenario import generate

    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    return generate(
        opts.seed, opts.orders, start=now - timedelta(days=opts.days - 1), end=now - timedelta(minutes=5)
    )


async def month_end(world: World, dep: Deployment) -> dict[str, Any]:
    """After the month's trading (refunds included): reconcile, seed variances into the ERP's ledger on
    orders with no finding, reconcile again; every seeded variance must be found on top of the first run."""
    from trueup.checks.reconcile_plan import RECONCILE_REASONS
    from trueup.sandbox.ledger_variances import seed_ledger_variances
    from trueup.store.reconcile import finding_statuses

    task = reconcile_task(dep)
    before = cast(dict[str, int], (await task.sync())["findings_by_kind"])
    with dep.store.tx() as conn:
        flagged = {key for (_, key), status in finding_statuses(conn, RECONCILE_REASONS).items()}
    orders = {str(o["increment_id"]) for o in world.magento}
    seeded = seed_ledger_variances(world.erp, orders - flagged)
    after = await task.sync()
    kinds = cast(dict[str, int], after["findings_by_kind"])
    return {
        "findings_by_kind": kinds,
        "reconciled": {"orders": after["orders"], "ledger": after["ledger"]},
        "refunds": after["refunds"],
        "seeded": seeded,
        "before_seeding": {k: n for k, n in before.items() if n},
        "seeded_found": all(kinds.get(k, 0) == before.get(k, 0) + n for k, n in seeded.items()),
    }


def demo_alerts(mail: SmtpSink, workdir: Path) -> dict[str, Any]:
    """Every team's alerts by e-mail to the demo's SMTP sink (docs/alerts.md)."""
    teams = ("finance", "ecommerce", "warehouse")
    return {
        "smtp": mail.config(),
        "routes": {team: {"email": [f"{team}@demo.test"]} for team in teams},
        "daily_report": {"out_dir": str(workdir / "reports")},
    }


async def _alerts(dep: Deployment, mail: SmtpSink) -> dict[str, Any]:
    """The alert task's passes over the day's exceptions, and the daily report, both by real SMTP."""
    from trueup.alerts.report import build
    from trueup.alerts.report_out import email_channel, message, write
    from trueup.alerts.task import AlertTask
    from trueup.runtime.clock import SystemClock

    task = AlertTask(dep.store, dep.config.alerts, SystemClock(), dep.backend.call)
    result = await task.sync()
    again = await task.sync()  # a second pass sends nothing twice
    now = SystemClock().now()
    with dep.store.tx() as conn:
        report = build(conn, now.date(), now, ageing_hours=dep.config.alerts.daily_report.ageing_hours)
    html, _csv = write(report, Path(dep.config.alerts.daily_report.out_dir))
    await email_channel(dep.config.alerts).send(message(report))
    return {
        "sent": dict(sorted(task.sent.items())),
        "by_route": dict(sorted(task.sent_by_route.items())),
        "alerts": result.alerts,
        "digests": result.digests,
        "failed": result.failed + again.failed,
        "sent_again_on_second_pass": sum(again.sent.values()),
        "emails_received": len(mail.messages),
        "daily_report": str(html),
    }


async def _item_push(dep: Deployment) -> dict[str, int]:
    """The ERP's item master becomes Magento's products: names, status, barcodes; nothing else."""
    assert dep.catalog is not None
    await dep.engine.drain(dep.catalog_schedule)
    plan = dep.catalog.last_plan
    return {
        "listed": plan.listed if plan else 0,
        "pushed": dep.catalog.pushed,
        "created": dep.catalog.created,
        "rejected_parked": dep.catalog.rejected,
        "findings": plan.findings if plan else 0,
        "api_calls": dep.catalog.api_calls,
    }


async def _stock_day(world: World, dep: Deployment, seed: int) -> dict[str, int]:
    """The ERP's morning stock count reaches Magento's sources, then a tenth of it moves during the day and
    only that is pushed; finally Magento's source items are checked against what was pushed."""
    assert dep.stock is not None
    day = StockDay(world.erp, active_skus(world.scenario.erp_items, STOCK_SKUS), seed=seed)
    day.morning_count()
    await dep.engine.drain(dep.stock_schedule)
    morning_calls = dep.stock.api_calls
    moved = day.moves()
    await dep.engine.drain(dep.stock_schedule)
    drift = await dep.stock.check_drift()
    return {
        "skus": len(day.skus),
        "moved_later": moved,
        "pushed_rows": dep.stock.pushed_rows,
        "api_calls": dep.stock.api_calls,
        "api_calls_after_moves": dep.stock.api_calls - morning_calls,
        "drift_after_sync": drift.findings,
    }


async def _price_list(world: World, dep: Deployment) -> dict[str, int]:
    """The ERP's price list for the stocked SKUs reaches Magento; one item the store has not created yet
    is refused by Magento's price API (200 with errors) and parks as `price_rejected`."""
    assert dep.prices is not None
    skus = active_skus(world.scenario.erp_items, STOCK_SKUS)
    for n, sku in enumerate(skus):
        world.erp.set_price(sku, "GBP", f"{12 + n % 30}.{n % 100:02d}")
    world.prices.products.discard(skus[-1])  # an ERP item not yet in the store's catalogue
    await dep.engine.drain(dep.price_schedule)
    drift = await dep.prices.check_drift()
    return {
        "listed": len(skus),
        "pushed": dep.prices.pushed,
        "rejected_parked": dep.prices.rejected,
        "drift_after_sync": drift.findings,
    }


async def _despatch_day(world: World, dep: Deployment, seed: int) -> dict[str, Any]:
    """The warehouse despatches the posted orders in the ERP (partials, manual shipments, an unmapped
    carrier among them); one despatch pass makes the shipments. See trueup.sandbox.despatch_day."""
    from trueup.sandbox.despatch_day import DespatchMix, despatch_posted
    from trueup.store.fulfilment import (
        findings_by_kind,
        posted_orders,
        shipment_counts,
        short_shipment_counts,
    )

    posted = posted_orders(dep.store, dep.config.storefront.name, world.scenario.expected)
    mix = DespatchMix(share=0.9)  # the warehouse does not get to every order today
    day = despatch_posted(world.magento, world.erp, world.scenario.carriers, posted, seed=seed, mix=mix)
    await dep.engine.drain(dep.despatch_schedule)
    assert dep.fulfilment_checks is not None
    await dep.fulfilment_checks.sync()
    counts = {**shipment_counts(dep.store), **short_shipment_counts(dep.store)}
    findings = findings_by_kind(dep.store)
    if counts["short"]:
        findings["short_shipment"] = counts["short"]
    expected = {**day.expected, "stalled_order": len(posted) - len(day.by_order)}
    actual = {**counts, **findings}
    mismatches = [
        f"shipments.{kind}: expected {want}, got {actual.get(kind, 0)}"
        for kind, want in sorted(expected.items())
        if actual.get(kind, 0) != want
    ]
    return {
        "despatches": day.despatches,
        "created": counts["created"],
        "linked_manual": counts["linked_manual"],
        "parked": counts["parked"],
        "waiting": counts["waiting"],
        "short": counts["short"],
        "short_refunded": counts["short_refunded"],
        "expected": dict(sorted(day.expected.items())),
        "findings_by_kind": findings,
        "mismatches": mismatches,
    }


async def _refund_day(world: World, dep: Deployment, seed: int) -> dict[str, Any]:
    """Customer service refunds a tenth of the posted orders in the Magento admin, half of them returns
    back to stock; one refund pass posts the credit notes and books the returns back where the ERP can take
    them (else a restock_not_booked exception each). See trueup.sandbox.refund_day."""
    from trueup.ports import StockAdjustmentSink
    from trueup.sandbox.refund_day import refund_posted
    from trueup.store.fulfilment import posted_orders
    from trueup.store.refunds import credit_note_counts, findings_by_kind

    assert dep.refunds is not None and dep.refund_checks is not None
    posted = posted_orders(dep.store, dep.config.storefront.name, world.scenario.expected)
    day = refund_posted(world.magento, posted, seed=seed)
    await dep.engine.drain(dep.refund_schedule)
    await dep.refund_checks.sync()
    counts = credit_note_counts(dep.store)
    not_booked = dep.store.counts_by_reason().get("restock_not_booked", 0)
    sink = dep.refunds.sink
    restocks = getattr(sink, "restock_on_credit_note", False) or isinstance(sink, StockAdjustmentSink)
    expected = {
        "posted": day.refunds,
        "restocked_units": day.restock_units if restocks else 0,
        "restock_not_booked": 0 if restocks else day.with_restock,
    }
    actual = {**counts, "restock_not_booked": not_booked}
    mismatches = [
        f"credit_notes.{kind}: expected {want}, got {actual.get(kind, 0)}"
        for kind, want in sorted(expected.items())
        if actual.get(kind, 0) != want
    ]
    return {
        "refunds": day.refunds,
        "posted": counts["posted"],
        "waiting": counts["waiting"],
        "parked": counts["parked"],
        "restock_not_booked": not_booked,
        "restocked_units": counts["restocked_units"],
        "findings_by_kind": findings_by_kind(dep.store),
        "mismatches": mismatches,
    }


def _mismatches(expected: dict[str, str], store: Store) -> list[str]:
    """Orders whose outcome in the ledger differs from what the scenario meant for them."""
    with store.tx() as conn:
        rows = conn.execute(select(work.c.key, work.c.status, work.c.reason).where(work.c.kind == KIND))
        actual = {key: ("post" if status == Status.DONE else str(reason)) for key, status, reason in rows}
    return [
        f"{key}: expected {want}, got {actual.get(key)}"
        for key, want in sorted(expected.items())
        if actual.get(key) != want
    ]
