"""`trueup report daily` and `trueup alerts …`: the daily report, and the alert outbox by hand."""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from trueup.cli.common import ConfigOpt, JsonOpt, app, console, fail, load, run_async

report_app = typer.Typer(no_args_is_help=True, help="Reports for the teams: the daily exception report.")
alerts_app = typer.Typer(no_args_is_help=True, help="Alerts to the owner teams: status, and a pass now.")
app.add_typer(report_app, name="report")
app.add_typer(alerts_app, name="alerts")


def _open(config: Path) -> tuple[Any, Any]:
    from trueup.preflight import sqlite_path
    from trueup.store import Store

    cfg = load(config)
    path = sqlite_path(cfg.runtime.database_url)
    if path is not None and not path.exists():
        fail(f"database {path} does not exist (runtime.database_url in {config}); nothing has run against it")
    return cfg, Store(cfg.runtime.database_url)


@report_app.command("daily")
def report_daily(
    config: ConfigOpt = Path("trueup.toml"),
    day: Annotated[
        str | None, typer.Option("--date", metavar="YYYY-MM-DD", help="The day (UTC); default today so far.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="DIR", help="Write the HTML and CSV here.")
    ] = None,
    email: Annotated[
        bool, typer.Option("--email", help="Also e-mail it ([alerts.daily_report] to, else the routes).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The day's exceptions per team, what was resolved and by whom, and what is ageing."""
    from trueup.alerts.channels import DeliveryError
    from trueup.alerts.report import build
    from trueup.alerts.report_out import email_channel, message, recipients, write
    from trueup.runtime.clock import SystemClock

    now = SystemClock().now()
    try:
        which = date.fromisoformat(day) if day else now.date()
    except ValueError:
        fail(f"--date {day!r} is not a date; expected YYYY-MM-DD, e.g. {now.date() - timedelta(days=1)}")
        raise AssertionError from None
    cfg, store = _open(config)
    with store.tx() as conn:
        report = build(conn, which, now, ageing_hours=cfg.alerts.daily_report.ageing_hours)
    store.close()
    if out is not None:
        html_path, csv_path = write(report, out)
        console.print(f"wrote {html_path} and {csv_path}")
    if email:
        if not recipients(cfg.alerts):
            fail("--email: no recipients. Resolution: set [alerts.daily_report] to, or e-mail routes")
        try:
            run_async(email_channel(cfg.alerts).send(message(report)))
        except DeliveryError as exc:
            fail(f"the report was not sent: {exc}")
        console.print(f"sent to {', '.join(recipients(cfg.alerts))}")
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
        return
    console.print(f"daily report {which} (UTC)")
    summary = report.summary()
    for team, n in summary.items():
        console.print(
            f"  {escape(team)}: {n['raised']} raised, {n['resolved']} resolved, {n['ageing']} ageing"
        )
    if not summary:
        console.print("  no exceptions raised, resolved or ageing")


@alerts_app.command("status")
def alerts_status(config: ConfigOpt = Path("trueup.toml"), as_json: JsonOpt = False) -> None:
    """Deliveries by channel (pending, sent, cleared, failed) and the latest errors."""
    from trueup.alerts.outbox import last_errors, status_counts

    _cfg, store = _open(config)
    with store.tx() as conn:
        counts, errors = status_counts(conn), last_errors(conn)
    store.close()
    if as_json:
        sys.stdout.write(json.dumps({"channels": counts, "errors": errors}, default=str, indent=2) + "\n")
        return
    if not counts:
        console.print("no alerts yet (are [alerts.routes] set?)")
    for channel, by_status in sorted(counts.items()):
        console.print(f"{escape(channel)}: " + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())))
    for e in errors:
        console.print(
            escape(
                f"  {e['channel']} {e['reason']} {e['key']}: {e['status']} after {e['attempts']} attempts, "
                f"next {e['next_at']:%Y-%m-%d %H:%M}: {e['last_error']}"
            )
        )


@alerts_app.command("send")
def alerts_send(config: ConfigOpt = Path("trueup.toml"), as_json: JsonOpt = False) -> None:
    """One alert pass now (what `trueup run` does every [alerts] interval_seconds)."""
    from trueup.alerts.task import AlertTask
    from trueup.runtime.clock import SystemClock

    cfg, store = _open(config)
    try:
        result = run_async(AlertTask(store, cfg.alerts, SystemClock()).sync())
    finally:
        store.close()
    out = {
        "queued": result.queued,
        "sent": dict(result.sent),
        "alerts": result.alerts,
        "digests": result.digests,
        "cleared": result.cleared,
        "failed": result.failed,
    }
    if as_json:
        sys.stdout.write(json.dumps(out) + "\n")
    else:
        console.print(", ".join(f"{k}: {v}" for k, v in out.items()))
    if result.failed:
        raise typer.Exit(1)
