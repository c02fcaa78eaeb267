"""The ledger on SQLite and PostgreSQL: unique keys, re-planning, per-lock FIFO claims, outcomes, sweeps."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from tests.conftest import FakeClock
from trueup.model.exceptions import Owner, Reason
from trueup.model.work import Done, Job, NewWork, Park, Problem, Retry, Status, Wait
from trueup.store import Store
from trueup.store.schema import links, work

LEASE = timedelta(minutes=5)


def new(key: str, version: str = "v1", lock: str | None = None, kind: str = "order.post") -> NewWork:
    return NewWork(kind, key, "orders", lock or f"order:{key}", f'{{"k": "{key}"}}', version)


def statuses(store: Store) -> dict[str, str]:
    with store.tx() as conn:
        return {k: s for k, s in conn.execute(select(work.c.key, work.c.status))}


@pytest.fixture
def store(db_url: str) -> Store:
    s = Store(db_url)
    yield s
    s.close()


def test_the_database_enforces_one_row_per_key(store: Store, clock: FakeClock) -> None:
    store.enqueue([new("A")], clock.now())
    with pytest.raises(IntegrityError), store.tx() as conn:
        conn.execute(
            insert(work).values(
                kind="order.post",
                key="A",
                lane="orders",
                lock="x",
                payload="{}",
                source_version="",
                status="todo",
                attempts=0,
                next_at=clock.now(),
                impact_minor=0,
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )


def test_links_are_unique_on_both_sides(store: Store, clock: FakeClock) -> None:
    row = {
        "kind": "order",
        "storefront": "magento",
        "external_id": "1",
        "erp": "erp",
        "erp_ref": "SO-1",
        "created_at": clock.now(),
    }
    with store.tx() as conn:
        conn.execute(insert(links).values(row))
    for clash in ({"external_id": "2"}, {"erp_ref": "SO-2"}):
        with pytest.raises(IntegrityError), store.tx() as conn:
            conn.execute(
                insert(links).values(
                    {
                        **row,
                        **({"erp_ref": "SO-1"} if "external_id" in clash else {"external_id": "1"}),
                        **clash,
                    }
                )
            )


def test_reobserving_is_a_no_op_unless_the_source_changed(store: Store, clock: FakeClock) -> None:
    store.enqueue([new("A"), new("B")], clock.now())
    jobs = store.claim("orders", "w1", 10, clock.now(), LEASE)
    problem = Problem(Reason.UNKNOWN_SKU, Owner.ECOMMERCE, "bad sku")
    store.record([Done(jobs[0], "SO-1", "order", "magento", "erp"), Park(jobs[1], problem)], clock.now())
    store.enqueue([new("A"), new("B")], clock.now())
    assert statuses(store) == {"A": "done", "B": "parked"}
    # B was fixed at the source: a new version re-plans it; A is done and stays done whatever happens.
    store.enqueue([new("A", "v2"), new("B", "v2")], clock.now())
    assert statuses(store) == {"A": "done", "B": "todo"}


def test_claim_is_fifo_per_lock_and_skips_blocked_locks(store: Store, clock: FakeClock) -> None:
    store.enqueue(
        [new("A1", lock="order:A"), new("A2", lock="order:A", kind="despatch"), new("B", lock="order:B")],
        clock.now(),
    )
    first = store.claim("orders", "w1", 10, clock.now(), LEASE)
    assert [j.key for j in first] == ["A1", "B"]  # A2 waits behind A1
    assert store.claim("orders", "w1", 10, clock.now(), LEASE) == []
    store.record([Done(first[0], "SO-1")], clock.now())
    assert [j.key for j in store.claim("orders", "w1", 10, clock.now(), LEASE)] == ["A2"]


def test_a_parked_row_blocks_later_work_on_its_lock(store: Store, clock: FakeClock) -> None:
    store.enqueue([new("A1", lock="order:A")], clock.now())
    [job] = store.claim("orders", "w1", 10, clock.now(), LEASE)
    store.record([Park(job, Problem(Reason.TAX_VARIANCE, Owner.FINANCE, "tax"))], clock.now())
    store.enqueue([new("A2", lock="order:A", kind="despatch")], clock.now())
    assert store.claim("orders", "w1", 10, clock.now(), LEASE) == []


def test_outcomes_schedule_retries_and_waits(store: Store, clock: FakeClock) -> None:
    store.enqueue([new("A"), new("B")], clock.now())
    a, b = store.claim("orders", "w1", 10, clock.now(), LEASE)
    later = clock.now() + timedelta(seconds=30)
    store.record(
        [
            Retry(a, "503", at=later),
            Wait(b, Problem(Reason.PAYMENT_PENDING, Owner.FINANCE, "pending"), later),
        ],
        clock.now(),
    )
    assert statuses(store) == {"A": "retrying", "B": "waiting"}
    assert store.claim("orders", "w1", 10, clock.now(), LEASE) == []
    assert store.next_due("orders") == later
    assert store.outstanding("orders") == 1  # the waiting row is not outstanding work
    clock.advance(31)
    again = store.claim("orders", "w1", 10, clock.now(), LEASE)
    assert [(j.key, j.attempts) for j in again] == [("A", 2), ("B", 2)]


def test_done_writes_its_link_in_the_same_transaction(store: Store, clock: FakeClock) -> None:
    store.enqueue([new("A")], clock.now())
    [job] = store.claim("orders", "w1", 10, clock.now(), LEASE)
    store.record([Done(job, "SO-9", "order", "magento", "erp")], clock.now())
    with store.tx() as conn:
        assert list(conn.execute(select(links.c.external_id, links.c.erp_ref))) == [("A", "SO-9")]


def test_cursor_advances_with_the_work_and_never_moves_back(store: Store, clock: FakeClock) -> None:
    store.enqueue([new("A")], clock.now(), ("orders", "magento", "2026-11-23T10:00:00"))
    store.enqueue([new("B")], clock.now(), ("orders", "magento", "2026-11-23T09:00:00"))
    assert store.cursor("orders", "magento") == "2026-11-23T10:00:00"
    assert set(statuses(store)) == {"A", "B"}


def test_a_dead_workers_rows_are_swept_back(store: Store, clock: FakeClock) -> None:
    store.register_worker("w1", clock.now(), exclusive=False)
    store.enqueue([new("A")], clock.now())
    store.claim("orders", "w1", 10, clock.now(), LEASE)
    assert store.heartbeat_and_sweep("w2", clock.now(), timedelta(seconds=60)) == 0
    clock.advance(120)  # w1 stopped beating
    assert store.heartbeat_and_sweep("w2", clock.now(), timedelta(seconds=60)) == 1
    assert statuses(store) == {"A": "retrying"}


def test_an_exclusive_start_takes_back_every_claimed_row(store: Store, clock: FakeClock) -> None:
    store.enqueue([new("A"), new("B")], clock.now())
    store.claim("orders", "old", 10, clock.now(), LEASE)
    assert store.register_worker("new", clock.now(), exclusive=True) == 2
    assert [j.key for j in store.claim("orders", "new", 10, clock.now(), LEASE)] == ["A", "B"]


def test_concurrent_claimers_never_share_a_row(db_url: str, clock: FakeClock) -> None:
    store = Store(db_url)
    store.enqueue([new(f"K{i:04d}") for i in range(400)], clock.now())
    claimed: list[list[Job]] = [[] for _ in range(4)]

    def claimer(n: int) -> None:
        own = Store(db_url, create=False)
        while batch := own.claim("orders", f"w{n}", 7, clock.now(), LEASE):
            claimed[n].extend(batch)
        own.close()

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [j.key for batch in claimed for j in batch]
    assert len(keys) == 400 and len(set(keys)) == 400
    assert store.counts() == {Status.DOING: 400}
    store.close()


def test_a_link_that_clashes_parks_that_one_order_and_the_batch_is_still_recorded(
    store: Store, clock: FakeClock
) -> None:
    """Two orders that the ERP took under one reference (a file name): the second link breaks the
    (erp, kind, erp_ref) key. That once failed the whole batch, and every later pass the same way."""
    store.enqueue([new("A/1"), new("A_1"), new("B")], clock.now())
    jobs = {j.key: j for j in store.claim("orders", "w1", 10, clock.now(), LEASE)}
    store.record(
        [Done(jobs[k], ref, "order", "magento", "erp") for k, ref in (("A/1", "SO_A_1"), ("A_1", "SO_A_1"))]
        + [Done(jobs["B"], "SO_B", "order", "magento", "erp")],
        clock.now(),
    )
    assert statuses(store) == {"A/1": "done", "A_1": "parked", "B": "done"}
    with store.tx() as conn:
        reason, detail = conn.execute(select(work.c.reason, work.c.detail).where(work.c.key == "A_1")).one()
    assert reason == Reason.ERP_REF_TAKEN and "already linked to A/1" in detail
    assert store.link_count("order") == 2
