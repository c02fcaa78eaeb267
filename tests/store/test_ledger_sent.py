"""`sent` rows on SQLite and PostgreSQL: handed to a batch ERP, not posted, blocking their lock, coming back
when due, surviving a crash mid-check, and never a link until the ERP took them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.store.test_ledger import LEASE, new
from trueup.model.exceptions import Owner, Reason
from trueup.model.work import Done, Park, Problem, Retry, Sent, Status
from trueup.store import Store
from trueup.store.schema import links, work


@pytest.fixture
def store(db_url: str) -> Store:
    s = Store(db_url)
    yield s
    s.close()


def row(store: Store, key: str) -> dict[str, object]:
    with store.tx() as conn:
        return dict(conn.execute(select(work).where(work.c.key == key)).one()._mapping)


def link_refs(store: Store) -> list[tuple[str, str]]:
    with store.tx() as conn:
        return [(k, r) for k, r in conn.execute(select(links.c.external_id, links.c.erp_ref))]


def test_a_sent_row_is_not_posted_blocks_its_lock_and_comes_back_when_due(
    store: Store, clock: FakeClock
) -> None:
    store.enqueue([new("A1", lock="order:A"), new("A2", lock="order:A", kind="refund")], clock.now())
    [job] = store.claim("orders", "w1", 10, clock.now(), LEASE)
    sent_at, due = clock.now(), clock.now() + timedelta(minutes=1)
    store.record([Sent(job, "SO_A1.csv", sent_at, due, note="trimmed")], clock.now())
    found = row(store, "A1")
    assert (found["status"], found["result"], found["sent_at"], found["detail"]) == (
        Status.SENT,
        "SO_A1.csv",
        sent_at,
        "trimmed",
    )
    assert link_refs(store) == []  # written is not posted
    assert store.outstanding("orders") == 0  # a --once pass does not wait for the ERP's batch
    assert store.claim("orders", "w1", 10, clock.now(), LEASE) == []  # A2 waits behind A1
    assert store.next_due("orders") == due
    clock.advance(61)
    [again] = store.claim("orders", "w1", 10, clock.now(), LEASE)
    assert (again.key, again.sent_at, again.attempts) == ("A1", sent_at, 2)
    # no answer yet, then a failed check: the row keeps the note it was sent with
    store.record([Sent(again, "SO_A1.csv", sent_at, clock.now())], clock.now())
    [again] = store.claim("orders", "w1", 10, clock.now(), LEASE)
    store.record([Retry(again, "SFTP timeout", at=clock.now())], clock.now())
    assert (row(store, "A1")["detail"], row(store, "A1")["sent_at"]) == ("trimmed", sent_at)
    [again] = store.claim("orders", "w1", 10, clock.now(), LEASE)
    store.record([Done(again, "SO_A1.csv", "order", "magento", "merret")], clock.now())
    done = row(store, "A1")
    assert (done["status"], done["sent_at"], done["detail"]) == (Status.DONE, None, "trimmed")
    assert link_refs(store) == [("A1", "SO_A1.csv")]
    assert [j.key for j in store.claim("orders", "w1", 10, clock.now(), LEASE)] == ["A2"]


def test_recheck_makes_every_sent_row_due_now(store: Store, clock: FakeClock) -> None:
    store.enqueue([new("A"), new("B")], clock.now())
    a, b = store.claim("orders", "w1", 10, clock.now(), LEASE)
    later = clock.now() + timedelta(hours=1)
    store.record([Sent(a, "SO_A.csv", clock.now(), later), Done(b, "SO_B.csv")], clock.now())
    assert store.claim("orders", "w1", 10, clock.now(), LEASE) == []
    assert store.recheck_sent("orders", clock.now()) == 1
    assert [j.key for j in store.claim("orders", "w1", 10, clock.now(), LEASE)] == ["A"]


def test_a_crash_or_a_failed_check_keeps_sent_at_and_a_settled_outcome_clears_it(
    store: Store, clock: FakeClock
) -> None:
    store.register_worker("w1", clock.now(), exclusive=False)
    store.enqueue([new("A")], clock.now())
    [job] = store.claim("orders", "w1", 10, clock.now(), LEASE)
    sent_at = clock.now()
    store.record([Sent(job, "SO_A.csv", sent_at, clock.now())], clock.now())
    [checking] = store.claim("orders", "w1", 10, clock.now(), LEASE)
    clock.advance(120)  # w1 dies while asking the ERP
    assert store.heartbeat_and_sweep("w2", clock.now(), timedelta(seconds=60)) == 1
    [swept] = store.claim("orders", "w2", 10, clock.now(), LEASE)
    assert swept.sent_at == sent_at  # asks again, never re-sends
    store.record([Retry(swept, "SFTP down", at=clock.now())], clock.now())
    [retried] = store.claim("orders", "w2", 10, clock.now(), LEASE)
    assert retried.sent_at == sent_at
    problem = Problem(Reason.ERP_NOT_ACKNOWLEDGED, Owner.WAREHOUSE, "never taken")
    store.record([Park(retried, problem)], clock.now())
    assert row(store, "A")["sent_at"] is None  # a retry of the exception posts afresh
    assert checking.key == "A"


def test_one_batch_of_mixed_outcomes_keeps_every_row_s_own_columns(store: Store, clock: FakeClock) -> None:
    """A checked row's retry carries no message and a parked row does: recorded in one batch, the parked
    row must still get its message (one executemany takes its columns from its first row)."""
    store.enqueue([new("B1", lock="order:B1"), new("B2", lock="order:B2")], clock.now())
    first, second = store.claim("orders", "w1", 10, clock.now(), LEASE)
    store.record([Sent(first, "SO_B1.csv", clock.now(), clock.now())], clock.now())
    [checked] = store.claim("orders", "w1", 10, clock.now(), LEASE)
    problem = Problem(Reason.ERP_REJECTED, Owner.ECOMMERCE, "Order B2: the ERP said no. Resolution: fix.")
    store.record([Retry(checked, "SFTP timeout", at=clock.now()), Park(second, problem)], clock.now())
    assert row(store, "B2")["detail"] == problem.message
    assert row(store, "B2")["status"] == Status.PARKED
    assert (row(store, "B1")["status"], row(store, "B1")["result"]) == (Status.RETRYING, "SO_B1.csv")
