"""`execute_many` writes exactly what `conn.execute(stmt, rows)` writes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, case, func, insert, select, update

from trueup.model.work import Status
from trueup.store import Store
from trueup.store.many import execute_many
from trueup.store.schema import work

T1 = datetime(2026, 11, 30, 9, 15, 1, 250_000)
T2 = datetime(2026, 11, 30, 9, 15, 2)


def _rows(prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "kind": "order.post",
            "key": f"{prefix}{i}",
            "lane": "orders",
            "lock": f"order:{prefix}{i}",
            "payload": '{"p": "£12.30"}',
            "source_version": f"v{i}",
            "status": Status.TODO if i % 2 else Status.PARKED,
            "attempts": 0,
            "next_at": T1 if i % 3 else T2,  # repeated values are converted once, and each row gets its own
            "reason": None if i % 2 else "unknown_sku",
            "impact_minor": 1230 * i,
            "created_at": T1,
            "updated_at": T2,
        }
        for i in range(7)
    ]


def _done() -> Any:
    return (
        update(work)
        .where(work.c.id == bindparam("_id"))
        .values(
            status=Status.DONE,  # a value written into the statement
            result=bindparam("result"),
            reason=None,
            detail=func.coalesce(bindparam("note"), case((work.c.sent_at.is_not(None), work.c.detail))),
            impact_minor=0,
        )
    )


def _table(store: Store, prefix: str) -> list[dict[str, Any]]:
    columns = [c for c in work.c if c.name not in ("id", "key", "lock")]
    with store.tx() as conn:
        rows = conn.execute(
            select(work.c.key, *columns).where(work.c.key.like(f"{prefix}%")).order_by(work.c.key)
        )
        return [{**row._asdict(), "key": row.key.removeprefix(prefix)} for row in rows]


@pytest.mark.parametrize("note", [None, "trimmed to fit"])
def test_execute_many_writes_what_execute_writes(db_url: str, note: str | None) -> None:
    store = Store(db_url)
    try:
        with store.tx() as conn:
            conn.execute(insert(work), _rows("a"))
            execute_many(conn, ("test.insert", note), lambda: insert(work), _rows("b"))
        with store.tx() as conn:
            ids = {
                p: {
                    k: i
                    for k, i in conn.execute(select(work.c.key, work.c.id).where(work.c.key.like(f"{p}%")))
                }
                for p in "ab"
            }
            done = {
                p: [
                    {"_id": ids[p][f"{p}{i}"], "result": f"SO-{i}", "note": note, "updated_at": T2}
                    for i in (1, 4, 6)
                ]
                for p in "ab"
            }
            conn.execute(_done(), done["a"])
            execute_many(conn, ("test.done", note), _done, done["b"])
        expected = _table(store, "a")
        assert _table(store, "b") == expected
        assert [row["status"] for row in expected].count(Status.DONE) == 3  # the update did change rows
        assert {row["next_at"] for row in expected} == {T1, T2}  # and the datetimes read back as written
    finally:
        store.close()


def test_an_expanding_in_list_is_refused(db_url: str) -> None:
    store = Store(db_url)
    try:
        with store.tx() as conn, pytest.raises(ValueError, match="expanding IN"):
            stmt = lambda: update(work).where(work.c.key.in_(bindparam("keys", expanding=True)))  # noqa: E731
            execute_many(conn, "test.expanding", stmt, [{"keys": ["a"], "attempts": 1}])
    finally:
        store.close()
