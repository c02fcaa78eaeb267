"""The daily report for a seeded day: per team, what was raised, resolved (and by whom) and is ageing;
its HTML and CSV; and its schedule, sent once over real SMTP."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from tests.alerts.helpers import config, park
from tests.conftest import FakeClock
from trueup.alerts.report import build
from trueup.alerts.report_out import DailyReportTask, render_csv, render_html
from trueup.model.exceptions import Reason
from trueup.model.work import Status
from trueup.sandbox.smtp import SmtpSink
from trueup.store import Store
from trueup.store.exceptions import act, find
from trueup.store.schema import work

DAY = date(2026, 11, 23)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def seeded_day(url: str) -> Store:
    """Monday 23 November: one finance exception left from the Friday before, three tax variances and two
    unknown SKUs raised in the morning; Alice resolves one variance before lunch."""
    store = Store(url)
    clock = FakeClock(datetime(2026, 11, 20, 16, 0))
    park(store, clock, ["F-OLD"])
    clock.current = datetime(2026, 11, 23, 9, 0)
    park(store, clock, ["T1", "T2", "T3"])
    park(store, clock, ["S1", "S2"], Reason.UNKNOWN_SKU)
    with store.tx() as conn:
        row = find(conn, "T2")
        assert row is not None
        assert act(
            conn, "resolve", row, actor="alice", note="keyed by hand", now=datetime(2026, 11, 23, 11, 30)
        )
    return store


def test_the_report_of_a_seeded_day(db_url: str) -> None:
    store = seeded_day(db_url)
    with store.tx() as conn:
        report = build(conn, DAY, datetime(2026, 11, 24, 7, 0))
    assert report.summary() == {
        "ecommerce": {"raised": 2, "resolved": 0, "ageing": 0},
        "finance": {"raised": 3, "resolved": 1, "ageing": 1},
    }
    (resolved,) = report.section("resolved")
    assert (resolved.key, resolved.actor, resolved.action, resolved.note) == (
        "T2",
        "alice",
        "resolve",
        "keyed by hand",
    )
    assert resolved.reason == "tax_variance" and report.audited
    (ageing,) = report.section("ageing")
    assert ageing.key == "F-OLD" and ageing.age_hours == 80.0  # open since Friday 16:00, to the day's end
    html = render_html(report)
    assert "<h2>finance</h2>" in html and "alice" in html and "keyed by hand" in html and "3.3 days" in html
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert len(rows) == 7 and {r["section"] for r in rows} == {"raised", "resolved", "ageing"}
    assert next(r for r in rows if r["section"] == "resolved")["at"] == "2026-11-23T11:30:00"
    # the day before shows only Friday's exception raised on its own day
    with store.tx() as conn:
        friday = build(conn, date(2026, 11, 20), datetime(2026, 11, 24, 7, 0))
    assert friday.summary() == {"finance": {"raised": 1, "resolved": 0, "ageing": 0}}
    store.close()


def test_without_an_audit_trail_resolved_rows_stand_in_unnamed(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    clock = FakeClock(datetime(2026, 11, 23, 9, 0))
    park(store, clock, ["T1"])
    with store.tx() as conn:
        conn.execute(update(work).values(status=Status.IGNORED, updated_at=datetime(2026, 11, 23, 10, 0)))
        report = build(conn, DAY, datetime(2026, 11, 23, 18, 0))
    (line,) = report.section("resolved")
    assert (line.actor, line.action, report.audited) == ("(not audited)", "ignore", False)
    store.close()


async def test_the_scheduled_report_goes_once_at_its_time_with_html_and_csv(
    sqlite_url: str, sink: SmtpSink, tmp_path: Path
) -> None:
    store = seeded_day(sqlite_url)
    clock = FakeClock(datetime(2026, 11, 24, 6, 59))
    cfg = config(
        {"finance": {"email": ["finance@shop.test"]}},
        sink.config(),
        daily_report={"at": "07:00", "to": ["ops@shop.test"], "out_dir": str(tmp_path / "reports")},
    )
    task = DailyReportTask(store, cfg, clock)
    assert await task.sync() == "not yet"
    clock.advance(60)
    sink.fail_next = 1
    assert (await task.sync()).startswith("failed")
    assert await task.sync() == "waiting to retry" and not sink.messages  # backing off
    clock.advance(3600)
    assert await task.sync() == "sent"
    assert await task.sync() == "done"
    clock.advance(3600)
    assert await task.sync() == "done"
    (mail,) = sink.messages
    assert sink.recipients == [["ops@shop.test"]] and mail["Subject"] == "[trueup] daily report 2026-11-23"
    html = mail.get_body(preferencelist=("html",))
    assert html is not None and "<h2>finance</h2>" in html.get_content()
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "trueup-daily-2026-11-23.csv"
    assert (tmp_path / "reports" / "daily-2026-11-23.html").exists()
    assert (tmp_path / "reports" / "daily-2026-11-23.csv").exists()
    store.close()


def test_trueup_report_daily_writes_html_and_csv_and_emails_it(
    sqlite_url: str, sink: SmtpSink, tmp_path: Path
) -> None:
    from trueup.cli import app
    from trueup.config import dump_toml

    seeded_day(sqlite_url).close()
    cfg = {
        "storefront": {"base_url": "https://shop.test/rest/default"},
        "erp": {"base_url": "https://erp.test/api"},
        "runtime": {"database_url": sqlite_url},
        "alerts": {"smtp": sink.config(), "routes": {"finance": {"email": ["finance@shop.test"]}}},
    }
    path = tmp_path / "trueup.toml"
    path.write_text(dump_toml(cfg), encoding="utf-8")
    out = tmp_path / "out"
    args = [
        "report",
        "daily",
        "-c",
        str(path),
        "--date",
        "2026-11-23",
        "--out",
        str(out),
        "--email",
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["summary"]["finance"]["resolved"] == 1
    assert (out / "daily-2026-11-23.csv").exists() and len(sink.messages) == 1
    bad = CliRunner().invoke(app, ["report", "daily", "-c", str(path), "--date", "23/11/2026"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
