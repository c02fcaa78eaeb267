"""The daily report on paper: HTML (the e-mail) and CSV (every line, for a spreadsheet), and its schedule
in `trueup run`: the previous day's report, once, at `[alerts.daily_report] at` (UTC)."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from html import escape
from pathlib import Path
from typing import Any

from trueup.alerts import outbox
from trueup.alerts.channels import Attachment, DeliveryError, EmailChannel, Message
from trueup.alerts.messages import html_page
from trueup.alerts.report import DailyReport, Line, build
from trueup.alerts.settings import AlertsConfig
from trueup.alerts.task import inline
from trueup.config import secret_value
from trueup.ports import Clock
from trueup.store import Store

REPORT_CHANNEL = "report:email"
_SECTIONS = (
    ("raised", "Raised today", ("reason", "kind", "key", "status", "raised_at", "impact")),
    (
        "resolved",
        "Resolved, retried or ignored, and by whom",
        ("action", "actor", "at", "reason", "key", "note"),
    ),
    ("ageing", "Ageing: still open", ("age", "reason", "kind", "key", "raised_at", "impact")),
)


def _money(line: Line) -> str:
    return (
        f"{line.currency or ''} {Decimal(line.impact_minor).scaleb(-2):,.2f}".strip()
        if line.impact_minor
        else ""
    )


def _cell(line: Line, column: str) -> str:
    if column == "impact":
        return _money(line)
    if column == "age":
        hours = line.age_hours or 0.0
        return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.0f} h"
    value = getattr(line, column)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


def render_html(report: DailyReport) -> str:
    title = f"trueup daily report, {report.day.isoformat()}"
    parts = [f"<h1>{escape(title)}</h1>", _summary_html(report)]
    if not report.audited:
        parts.append(
            "<p><em>No audit trail for that day: resolved and ignored rows shown without names.</em></p>"
        )
    for team in report.teams():
        parts.append(f"<h2>{escape(team)}</h2>")
        for section, heading, columns in _SECTIONS:
            lines = report.section(section, team)
            if not lines:
                continue
            head = "".join(f"<th>{escape(c)}</th>" for c in columns)
            rows = "".join(
                "<tr>" + "".join(f"<td>{escape(_cell(x, c))}</td>" for c in columns) + "</tr>" for x in lines
            )
            parts.append(
                f"<h3>{escape(heading)} ({len(lines)})</h3><table border='1' cellpadding='3' "
                f"style='border-collapse:collapse'><tr>{head}</tr>{rows}</table>"
            )
    return html_page(title, "".join(parts))


def _summary_html(report: DailyReport) -> str:
    rows = "".join(
        f"<tr><td>{escape(team)}</td><td>{n['raised']}</td><td>{n['resolved']}</td><td>{n['ageing']}</td></tr>"
        for team, n in report.summary().items()
    )
    if not rows:
        return "<p>No exceptions raised, resolved or ageing.</p>"
    return (
        "<table border='1' cellpadding='3' style='border-collapse:collapse'><tr><th>team</th><th>raised</th>"
        f"<th>resolved</th><th>ageing (over {report.ageing_hours:g} h)</th></tr>{rows}</table>"
    )


def render_text(report: DailyReport) -> str:
    lines = [f"trueup daily report, {report.day.isoformat()} (UTC)"]
    for team, n in report.summary().items():
        lines.append(f"{team}: {n['raised']} raised, {n['resolved']} resolved, {n['ageing']} ageing")
    if len(lines) == 1:
        lines.append("No exceptions raised, resolved or ageing.")
    lines.append("The full report is the HTML part of this message; every line is in the CSV attached.")
    return "\n".join(lines)


def render_csv(report: DailyReport) -> str:
    out = io.StringIO()
    names = [f.name for f in fields(Line)]
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for line in report.lines:
        writer.writerow(line.row())
    return out.getvalue()


def write(report: DailyReport, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"daily-{report.day.isoformat()}"
    html_path, csv_path = stem.with_suffix(".html"), stem.with_suffix(".csv")
    html_path.write_text(render_html(report), encoding="utf-8")
    csv_path.write_text(render_csv(report), encoding="utf-8")
    return html_path, csv_path


def message(report: DailyReport) -> Message:
    day = report.day.isoformat()
    attachment = Attachment(f"trueup-daily-{day}.csv", render_csv(report).encode("utf-8"))
    return Message(
        f"trueup-daily-{day}",
        f"[trueup] daily report {day}",
        render_text(report),
        report.as_dict(),
        html=render_html(report),
        attachments=(attachment,),
    )


def recipients(config: AlertsConfig) -> list[str]:
    """`[alerts.daily_report] to`, else every address in the routes."""
    if config.daily_report.to:
        return list(config.daily_report.to)
    return sorted({a for route in config.routes.values() for a in route.email})


def email_channel(config: AlertsConfig, environ: Mapping[str, str] | None = None) -> EmailChannel:
    smtp = config.smtp
    password = secret_value(smtp.password_env, environ) if smtp.username else None
    return EmailChannel(smtp, recipients(config), password)


class DailyReportTask:
    """Sends the previous day's report once, at the configured time; the outbox row (channel
    `report:email`, key the day) makes it once even across restarts, and retries a failed send."""

    name = "daily report"
    system = "alerts"

    def __init__(
        self,
        store: Store,
        config: AlertsConfig,
        clock: Clock,
        call: Callable[[Callable[[], Any]], Awaitable[Any]] = inline,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.store, self.config, self.clock, self.call, self.environ = store, config, clock, call, environ

    def due_day(self) -> date | None:
        now = self.clock.now()
        hour, minute = (int(p) for p in self.config.daily_report.at.split(":"))
        if (now.hour, now.minute) < (hour, minute):
            return None
        return now.date() - timedelta(days=1)

    def _prepare(self, day: date) -> tuple[int, DailyReport] | str:
        now = self.clock.now()
        with self.store.tx() as conn:
            row_id, status = outbox.report_row(conn, REPORT_CHANNEL, day.isoformat(), now)
            if status != outbox.PENDING:
                return "waiting to retry" if status == "waiting" else "done"
            report = build(conn, day, now, ageing_hours=self.config.daily_report.ageing_hours)
        write(report, Path(self.config.daily_report.out_dir))
        return row_id, report

    async def sync(self) -> str:
        day = self.due_day()
        if day is None:
            return "not yet"
        prepared = await self.call(partial(self._prepare, day))
        if isinstance(prepared, str):
            return prepared
        row_id, report = prepared
        now = self.clock.now()
        try:
            if recipients(self.config):
                await email_channel(self.config, self.environ).send(message(report))
        except DeliveryError as exc:
            await self.call(partial(self._failed, row_id, str(exc), now))
            return f"failed, to be tried again: {exc}"
        await self.call(partial(self._sent, row_id, now))
        return "sent"

    def _sent(self, row_id: int, now: datetime) -> None:
        with self.store.tx() as conn:
            outbox.mark_sent(conn, [row_id], role="report", delivery=f"daily-{row_id}", now=now)

    def _failed(self, row_id: int, error: str, now: datetime) -> None:
        cfg = self.config
        with self.store.tx() as conn:
            outbox.mark_failed(
                conn,
                [row_id],
                error=error,
                now=now,
                backoff=timedelta(seconds=cfg.retry_base_seconds * 4),
                max_attempts=cfg.max_attempts,
            )
