"""The checks' ledger queries on SQLite and PostgreSQL: bulk views, findings as one row per order, clears
and reopening, a person's decision kept, and a re-send."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from trueup.model.checks import Clear, Finding, LedgerView, Resend, SweepWrite
from trueup.model.exceptions import Reason
from trueup.model.work import Done, Job, NewWork, Problem
from trueup.store import Store
from trueup.store import checks as store_checks
from trueup.store.exceptions import act, find
from trueup.store.schema import audit, links, work

NOW = datetime(2026, 11, 29, 12, 0, 0)
NAMES = {"order_kind": "order.post", "link_kind": "order", "storefront": "magento"}


@pytest.fixture
def store(db_url: str) -> Store:
    s = Store(db_url)
    yield s
    s.close()


def _finding(
    key: str, text: str = "lost", reason: Reason = Reason.ORPHANED_ORDER, new: bool = True
) -> Finding:
    return Finding(key, Problem.of(reason, text, impact_minor=1250, currency="GBP", system="trueup"), new)


def _write(store: Store, write: SweepWrite) -> None:
    with store.tx() as conn:
        store_checks.write_sweep(conn, write, NOW, **NAMES)


def _views(store: Store, keys: list[str]) -> dict[str, LedgerView]:
    with store.tx() as conn:
        return dict(store_checks.order_views(conn, keys, **NAMES))


def test_views_read_rows_links_and_findings_in_bulk(store: Store) -> None:
    store.enqueue([NewWork("order.post", k, "orders", f"order:{k}", "{}", "v1") for k in ("1", "2")], NOW)
    jobs = store.claim("orders", "w", 10, NOW, NOW - NOW)
    store.record([Done(next(j for j in jobs if j.key == "1"), "SO-1", "order", "magento", "erp")], NOW)
    _write(store, SweepWrite(findings=[_finding("3")]))
    views = _views(store, ["1", "2", "3", "4"])
    assert set(views) == {"1", "2", "3"}
    one, two, three = views["1"], views["2"], views["3"]
    assert (one.status, one.erp_ref) == ("done", "SO-1")
    assert (two.status, two.version, two.erp_ref) == ("doing", "v1", None)
    assert three.status is None and three.findings == {"orphaned_order": "parked"}


def test_a_finding_is_one_row_reopened_after_a_clear_but_never_after_a_persons_decision(store: Store) -> None:
    _write(store, SweepWrite(findings=[_finding("7"), _finding("8")]))
    _write(store, SweepWrite(findings=[_finding("7", "lost again", new=False), _finding("8", new=False)]))
    with store.tx() as conn:
        rows = conn.execute(
            select(work.c.key, work.c.status, work.c.detail).where(work.c.kind.like("check.%"))
        )
        assert sorted((k, s, d.split(" Resolution")[0]) for k, s, d in rows) == [
            ("7", "parked", "lost again"),
            ("8", "parked", "lost"),
        ]
    _write(store, SweepWrite(clears=[Clear("orphaned_order", "7", "linked")]))
    assert _views(store, ["7"])["7"].findings == {"orphaned_order": "cleared"}
    with store.tx() as conn:
        row = find(conn, "8")
        assert row is not None and act(conn, "resolve", row, actor="ana", note="posted by hand", now=NOW)
    _write(store, SweepWrite(findings=[_finding("7"), _finding("8")]))
    views = _views(store, ["7", "8"])
    assert views["7"].findings == {"orphaned_order": "parked"}
    assert views["8"].findings == {"orphaned_order": "resolved"}
    with store.tx() as conn:
        actions = [(k, a, n) for k, a, n in conn.execute(select(audit.c.key, audit.c.actor, audit.c.action))]
    assert ("7", "engine", "clear") in actions and actions.count(("7", "engine", "found")) == 2


def test_a_resend_reopens_the_post_and_drops_the_stale_link(store: Store) -> None:
    store.enqueue([NewWork("order.post", "5", "orders", "order:5", "{}", "v1")], NOW)
    (job,) = store.claim("orders", "w", 10, NOW, NOW - NOW)
    store.record([Done(job, "SO-5", "order", "magento", "erp")], NOW)
    _write(store, SweepWrite(findings=[_finding("5", reason=Reason.MISSING_IN_ERP)]))
    _write(store, SweepWrite(resends=[Resend("5")]))
    with store.tx() as conn:
        assert conn.execute(
            select(work.c.status, work.c.attempts).where(work.c.kind == "order.post")
        ).one() == (
            "todo",
            0,
        )
        assert conn.execute(select(links.c.id)).all() == []
    assert _views(store, ["5"])["5"].findings == {"missing_in_erp": "cleared"}
    (again,) = store.claim("orders", "w", 10, NOW, NOW - NOW)
    assert isinstance(again, Job) and again.attempts == 1  # a first attempt: it posts rather than looks up
