"""The overview's backlog and lag over time: snapshots written by `trueup run`'s periodic task, read back as
line charts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tests.conftest import FakeClock
from tests.web.conftest import login
from tests.web.rig import START
from trueup.store import Store
from trueup.store.schema import flow_snapshots, work
from trueup.web import snapshots


async def _direct(fn: Callable[[], int]) -> int:
    return fn()


def test_snapshots_record_backlog_and_lag_and_the_overview_draws_them(
    client: TestClient, store: Store
) -> None:
    clock = FakeClock(START - timedelta(hours=2))
    task = snapshots.SnapshotTask(store, clock, _direct)
    assert asyncio.run(task.sync()) > 0  # two hours ago: nothing waits
    with store.tx() as conn:
        conn.execute(
            update(work)
            .where(work.c.key == "100000004")
            .values(status="todo", next_at=START - timedelta(hours=2))
        )
    clock.advance(3600)
    asyncio.run(task.sync())  # an hour later the same order waits: an hour of lag
    with store.tx() as conn:
        backlog, lag = snapshots.series(conn, START - timedelta(days=1))
    assert [n for _, n in backlog["order.post"]] == [0, 1]
    assert [n for _, n in lag["order.post"]] == [0, 3600]

    login(client, "viewer")
    page = client.get("/").text
    charts = page[page.index('id="health-over-time"') :]
    assert charts.count("<polyline") >= 2 and "order.post" in charts and "3600 s" in charts


def test_snapshots_are_kept_two_weeks(store: Store) -> None:
    with store.tx() as conn:
        snapshots.take(conn, START - timedelta(days=15))
        snapshots.take(conn, START)
        ats = conn.execute(select(func.min(flow_snapshots.c.at))).scalar_one()
    assert ats == START


def test_the_overview_says_when_there_is_no_history_yet(client: TestClient) -> None:
    login(client, "viewer")
    assert "No backlog or lag history yet" in client.get("/").text
