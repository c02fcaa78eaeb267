"""The stock flow end to end in one process: a hand-fed ERP stock source, the real engine and store, and
the sandbox Magento over HTTP. Only sellable stock, only what changed, one ledger row per batch, pushed_stock
written with the batch's outcome, a crash between push and record re-pushes harmlessly, drift."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.flows.stock_rig import Rig, RigFactory
from trueup.model.stock import PUSH_KIND, STOCK_LANE, StockRules
from trueup.model.work import Status
from trueup.store.schema import work


@pytest.fixture
async def rigs(db_url: str, clock: FakeClock) -> AsyncIterator[RigFactory]:
    """Every stock flow test runs on SQLite and on PostgreSQL."""
    factory = RigFactory(db_url, clock)
    yield factory
    await factory.close()


def ledger_rows(rig: Rig) -> int:
    with rig.store.tx() as conn:
        return int(conn.execute(select(func.count()).where(work.c.kind == PUSH_KIND)).scalar_one())


async def test_only_sellable_stock_and_only_what_changed_is_pushed(rigs: RigFactory) -> None:
    rig = await rigs.build()
    for i in range(10):
        rig.erp.set(f"SKU{i}", 10 + i, allocated=2, quarantined=1)
    await rig.sync()
    assert rig.inventory.items[("SKU0", "default")] == [7, 1]
    assert rig.pushed() == {(f"SKU{i}", "default"): 7 + i for i in range(10)}
    assert rig.flow.pushed_rows == 10 and ledger_rows(rig) == rig.flow.last_plan.batches  # type: ignore[union-attr]
    batches_before, saves_before = ledger_rows(rig), rig.inventory.saves

    await rig.sync()  # nothing moved: nothing planned, nothing pushed
    assert ledger_rows(rig) == batches_before and rig.inventory.saves == saves_before

    rig.erp.set("SKU3", 0)
    rig.erp.set("SKU4", 50, allocated=60)  # over-allocated: 0, never negative
    await rig.sync()
    assert rig.flow.pushed_rows == 12
    assert rig.inventory.items[("SKU3", "default")] == [0, 0]
    assert rig.inventory.items[("SKU4", "default")] == [0, 0]
    assert rig.pushed()[("SKU4", "default")] == 0
    with rig.store.tx() as conn:
        statuses = {s for (s,) in conn.execute(select(work.c.status).where(work.c.lane == STOCK_LANE))}
    assert statuses == {Status.DONE}


async def test_a_crash_between_push_and_record_re_pushes_the_same_batch_harmlessly(
    rigs: RigFactory, clock: FakeClock
) -> None:
    """The process dies after Magento saved a batch and before the ledger recorded it. On restart the row is
    swept back and the same batch (same key, same absolute quantities) is pushed again: Magento ends in the
    same state, because a source quantity is absolute, not a delta; pushed_stock is written once, with the
    outcome."""
    rig = await rigs.build()
    for i in range(3):
        rig.erp.set(f"SKU{i}", 5)
    async for rows, cursor in rig.flow.observe(None, clock.now()):
        await rig.backend.enqueue(rows, clock.now(), ("stock", "erp", cursor))
    jobs = await rig.backend.claim(STOCK_LANE, "dead-worker", 10, clock.now(), waiting=True)
    assert jobs
    await rig.flow.handle(jobs)  # pushed... and the process dies before record()
    assert rig.inventory.items[("SKU0", "default")] == [5, 1] and rig.pushed() == {}
    saves = rig.inventory.saves

    await rig.sync()  # a new engine: every row the dead one held comes back and is pushed again
    assert rig.inventory.saves == saves + len(jobs)
    assert rig.inventory.items == {(f"SKU{i}", "default"): [5, 1] for i in range(3)}
    assert rig.pushed() == {(f"SKU{i}", "default"): 5 for i in range(3)}
    assert ledger_rows(rig) == len(jobs) and rig.store.counts(PUSH_KIND) == {Status.DONE: len(jobs)}


async def test_a_lasting_drift_parks_for_the_warehouse_and_a_push_in_flight_is_not_drift(
    rigs: RigFactory, clock: FakeClock
) -> None:
    rig = await rigs.build(drift_age=timedelta(minutes=10))
    rig.erp.set("A", 5)
    rig.erp.set("B", 8)
    await rig.sync()
    assert (await rig.flow.check_drift()).findings == 0

    rig.inventory.set_quantity("A", "default", 9)  # an admin edits Magento's stock by hand
    first = await rig.flow.check_drift()
    assert (first.findings, first.parked, first.units_at_risk) == (1, 0, 4)  # seen, not yet an exception
    clock.advance(11 * 60)
    lasting = await rig.flow.check_drift()
    assert lasting.parked == 1
    with rig.store.tx() as conn:
        row = conn.execute(select(work).where(work.c.reason == "stock_drift")).one()
    assert row.owner == "warehouse" and row.status == Status.PARKED and row.key.endswith("stock:A@default")
    assert "4 units may be oversold" in row.detail and "Resolution:" in row.detail

    # B changes in the ERP and its batch is planned but not pushed yet: Magento differs, but not by drift.
    rig.erp.set("B", 2)
    async for rows, cursor in rig.flow.observe(None, clock.now()):
        await rig.backend.enqueue(rows, clock.now(), ("stock", "erp", cursor))
    rig.inventory.set_quantity("B", "default", 1)
    in_flight = await rig.flow.check_drift()
    assert in_flight.findings == 1  # A only


async def test_an_unmapped_location_is_one_finding_not_one_per_row(rigs: RigFactory) -> None:
    rig = await rigs.build(StockRules(locations={"WEB": "web", "SHOP1": "shops"}))
    for i in range(20):
        rig.erp.set(f"SKU{i}", 4)
        rig.erp.set(f"SKU{i}", 3, location="SHOP1")
        rig.erp.set(f"SKU{i}", 9, location="QC")
    await rig.sync()
    await rig.sync()
    assert rig.store.counts_by_reason() == {"unmapped_location": 1}
    assert rig.inventory.items[("SKU0", "web")] == [4, 1] and rig.inventory.items[("SKU0", "shops")] == [3, 1]
    assert not any(code == "QC" for _, code in rig.inventory.items)


async def test_full_pushes_everything_again(rigs: RigFactory) -> None:
    rig = await rigs.build()
    for i in range(5):
        rig.erp.set(f"SKU{i}", 1)
    await rig.sync()
    rig.inventory.set_quantity("SKU1", "default", 40)
    rig.flow.full = True
    await rig.sync()
    assert rig.flow.pushed_rows == 10
    assert rig.inventory.items[("SKU1", "default")] == [1, 1]


async def test_a_sku_the_storefront_refuses_parks_once_and_the_rest_of_the_batch_is_recorded(
    rigs: RigFactory,
) -> None:
    rig = await rigs.build(StockRules(locations={"WEB": "web", "QC": "nowhere"}))
    rig.flow.sink.mode = "async"  # type: ignore[attr-defined]
    rig.flow.sink.poll_seconds = 0  # type: ignore[attr-defined]
    rig.erp.set("GOOD", 3)
    rig.erp.set("BAD", 2, location="QC")  # mapped to a source Magento does not have
    await rig.sync()
    await rig.sync()  # BAD is planned and refused again, but its exception is the same one
    assert rig.pushed() == {("GOOD", "web"): 3}
    assert rig.store.counts_by_reason() == {"stock_push_rejected": 1}
    assert rig.store.counts(PUSH_KIND).get(Status.DONE) == ledger_rows(rig)


async def test_a_batch_with_an_unknown_source_saves_the_rest_and_parks_only_that_pair(
    rigs: RigFactory,
) -> None:
    """MSI mode: Magento refuses the whole batch for one unknown source; the sink halves it, the rest is
    saved and recorded, and the ledger's batch is done, so later batches of its partition are not blocked."""
    rig = await rigs.build(StockRules(locations={"WEB": "web", "QC": "nowhere"}), batch_size=50)
    for i in range(6):
        rig.erp.set(f"SKU{i}", 2)
    rig.erp.set("SKU0", 1, location="QC")
    await rig.sync()
    assert rig.pushed() == {(f"SKU{i}", "web"): 2 for i in range(6)}
    assert rig.store.counts_by_reason() == {"stock_push_rejected": 1}
    assert set(rig.store.counts(PUSH_KIND)) == {Status.DONE}
    rig.erp.set("SKU0", 9)
    await rig.sync()
    assert rig.inventory.items[("SKU0", "web")] == [9, 1]
