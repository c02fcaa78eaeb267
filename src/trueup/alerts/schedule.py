"""The alert task and the daily report as periodic tasks of `trueup run`, on the engine's database thread.

Both carry `system = "alerts"`: the engine gives them a circuit breaker of their own, so a mail server or
receiver that is down never opens the ERP's or the storefront's breaker, and no flow waits for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from trueup.alerts.report_out import DailyReportTask
from trueup.alerts.settings import AlertsConfig
from trueup.alerts.task import AlertTask
from trueup.runtime.clock import SystemClock
from trueup.store import Store

if TYPE_CHECKING:
    from trueup.runtime.engine import PeriodicTask

REPORT_CHECK_SECONDS = 300.0  # the report goes within this long after [alerts.daily_report] at


def periodic_tasks(
    store: Store, config: AlertsConfig, call: Callable[[Callable[[], Any]], Awaitable[Any]]
) -> list[tuple[PeriodicTask, float]]:
    if not config.enabled:
        return []
    clock = SystemClock()
    tasks: list[tuple[PeriodicTask, float]] = [
        (AlertTask(store, config, clock, call), config.interval_seconds)
    ]
    if config.daily_report.enabled:
        tasks.append((DailyReportTask(store, config, clock, call), REPORT_CHECK_SECONDS))
    return tasks
