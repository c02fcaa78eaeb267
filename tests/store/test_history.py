"""The exception queue's history on both databases: raised, failed attempts, actions, cleared; a record that
only failed transiently is not an exception; a posted order keeps the reason it was held for."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.conftest import FakeClock
from trueup.model.exceptions import Reason
from trueup.model.work import Done, NewWork, Park, Problem, Retry
from trueup.store import Store
from trueup.store.exceptions import act, find, list_exceptions, show
from trueup.store.history import events_for

LEASE = timedelta(minutes=5)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


def _new(key: str) -> NewWork:
    return NewWork("order.post", key, "orders", f"order:{key}", '{"k": 1}', "v1")


def test_a_parked_then_retried_order_that_posts_keeps_its_whole_history(
    store: Store, clock: FakeClock
) -> None:
    store.enqueue([_new("A"), _new("B")], clock.now())
    a, b = store.claim("orders", "w1", 10, clock.now(), LEASE)
    problem = Problem.of(
        Reason.UNKNOWN_SKU, "Order A: SKU 'X' is not in the ERP item master.", field="lines[0].sku"
    )
    store.record([Park(a, problem), Retry(b, "ERP timed out", at=clock.now())], clock.now())
    clock.advance(60)
    with store.tx() as conn:
        row = find(conn, "A")
        assert row is not None
        assert act(conn, "retry", row, actor="ec1", note="item created", now=clock.now())
    clock.advance(60)
    jobs = store.claim("orders", "w1", 10, clock.now(), LEASE)
    store.record([Done(j, f"SO-{j.key}", "order", "magento", "erp") for j in jobs], clock.now())

    with store.tx() as conn:
        found = show(conn, "A")
        assert found is not None and found["status"] == "done" and found["reason"] == "unknown_sku"
        assert [(e["event"], e["actor"], e["action"]) for e in found["history"]] == [
            ("raised", "engine", ""),
            ("action", "ec1", "retry"),
            ("cleared", "engine", ""),
        ]
        # B only failed once and then posted: its attempt is in its history, but it was never an exception
        b_row = find(conn, "B")
        assert b_row is not None
        assert [e["event"] for e in events_for(conn, b_row.id)] == ["failed"]
        cleared = list_exceptions(conn, view="cleared")
        assert [(r.key, r.reason, r.owner) for r in cleared] == [("A", "unknown_sku", "ecommerce")]
        assert [r.key for r in list_exceptions(conn, view="cleared", reason="unknown_sku")] == ["A"]
        assert list_exceptions(conn, view="open") == []
        assert [r.key for r in list_exceptions(conn, view="all")] == ["A"]
