"""`trueup alerts send|status` against a real store and SMTP server, and the tasks `trueup run` gets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.alerts.helpers import config, park
from tests.conftest import FakeClock
from trueup.alerts.schedule import periodic_tasks
from trueup.config import dump_toml
from trueup.runtime.clock import SystemClock
from trueup.sandbox.smtp import SmtpSink
from trueup.store import Store


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def test_alerts_send_then_status(sqlite_url: str, sink: SmtpSink, tmp_path: Path) -> None:
    from trueup.cli import app

    store = Store(sqlite_url)
    park(store, FakeClock(SystemClock().now()), ["1", "2"])
    store.close()
    cfg = {
        "storefront": {"base_url": "https://shop.test/rest/default"},
        "erp": {"base_url": "https://erp.test/api"},
        "runtime": {"database_url": sqlite_url},
        "alerts": {"smtp": sink.config(), "routes": {"finance": {"email": ["finance@shop.test"]}}},
    }
    path = tmp_path / "trueup.toml"
    path.write_text(dump_toml(cfg), encoding="utf-8")
    sent = CliRunner().invoke(app, ["alerts", "send", "-c", str(path), "--json"])
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout)["sent"] == {"email": 2} and len(sink.messages) == 2
    status = CliRunner().invoke(app, ["alerts", "status", "-c", str(path), "--json"])
    assert json.loads(status.stdout)["channels"] == {"email:finance": {"sent": 2}}


def test_trueup_run_gets_the_alert_task_and_the_report_on_their_own_breaker(sqlite_url: str) -> None:
    store = Store(sqlite_url)

    async def call(fn: object) -> object:
        raise AssertionError("not called")

    tasks = periodic_tasks(store, config({}, interval_seconds=30), call)
    assert [(t.name, getattr(t, "system", None), every) for t, every in tasks] == [
        ("alerts", "alerts", 30),
        ("daily report", "alerts", 300.0),
    ]
    assert periodic_tasks(store, config({}, enabled=False), call) == []
    store.close()


def test_the_daily_report_waits_for_its_time_of_day(sqlite_url: str) -> None:
    from trueup.alerts.report_out import DailyReportTask

    store = Store(sqlite_url)
    clock = FakeClock(datetime(2026, 11, 24, 6, 30))
    task = DailyReportTask(store, config({}, daily_report={"at": "06:45"}), clock)
    assert task.due_day() is None
    clock.advance(15 * 60)
    assert str(task.due_day()) == "2026-11-23"
    store.close()
