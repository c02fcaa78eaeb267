"""The alert outbox in the store: which exceptions have been seen, and which deliveries went out.

Every function takes an open connection inside a transaction. The unique constraint on (channel, reason,
key) is what makes alerting idempotent: however often an exception is scanned, and whatever crashes in
between, it has one row per channel, and a row marked sent is never sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from trueup.model.work import Status
from trueup.store.ledger import _insert
from trueup.store.schema import alerts, work
from trueup.store.state import get_cursor, set_cursor

CURSOR = ("alerts", "work")  # (flow, source) in the cursors table
PENDING, SENT, CLEARED, FAILED = "pending", "sent", "cleared", "failed"


@dataclass(frozen=True, slots=True)
class Raised:
    """A parked ledger row, as the alert scan reads it."""

    work_id: int
    kind: str
    key: str
    reason: str
    owner: str | None
    raised_at: datetime

    @property
    def alert_key(self) -> str:
        return f"{self.kind}:{self.key}"[:200]


def cursor_value(at: datetime, work_id: int) -> str:
    """(parked at, row id) as one string that sorts like the pair: the scan's key, never an offset."""
    return f"{at:%Y-%m-%dT%H:%M:%S.%f}#{work_id:020d}"


def parse_cursor(value: str) -> tuple[datetime, int]:
    at, _, ident = value.partition("#")
    return datetime.fromisoformat(at), int(ident or 0)


def read_cursor(conn: Connection) -> tuple[datetime, int] | None:
    value = get_cursor(conn, *CURSOR)
    return parse_cursor(value) if value else None


def scan_page(conn: Connection, after: tuple[datetime, int], limit: int) -> list[Raised]:
    """Parked rows after `after` in (updated_at, id) order: the ledger stamps `updated_at` when it parks."""
    at, ident = after
    query = (
        select(work.c.id, work.c.kind, work.c.key, work.c.reason, work.c.owner, work.c.updated_at)
        .where(
            work.c.status == Status.PARKED,
            work.c.reason.is_not(None),
            or_(work.c.updated_at > at, and_(work.c.updated_at == at, work.c.id > ident)),
        )
        .order_by(work.c.updated_at, work.c.id)
        .limit(limit)
    )
    return [Raised(*tuple(row)) for row in conn.execute(query)]


def queue(
    conn: Connection, rows: Sequence[dict[str, Any]], cursor: tuple[datetime, int], now: datetime
) -> int:
    """Insert outbox rows (a row already there for its channel, reason and key is left alone) and advance
    the scan cursor, in the caller's transaction. Returns how many rows were new."""
    if rows:
        before = _count(conn)
        stmt = _insert(conn, alerts).on_conflict_do_nothing(
            index_elements=[alerts.c.channel, alerts.c.reason, alerts.c.key]
        )
        conn.execute(stmt, list(rows))
        added = _count(conn) - before
    else:
        added = 0
    set_cursor(conn, *CURSOR, cursor_value(*cursor), now)
    return added


def _count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(alerts)).scalar_one())


def outbox_row(channel: str, raised: Raised, now: datetime) -> dict[str, Any]:
    return {
        "channel": channel,
        "reason": raised.reason,
        "key": raised.alert_key,
        "work_id": raised.work_id,
        "owner": raised.owner,
        "raised_at": raised.raised_at,
        "status": PENDING,
        "attempts": 0,
        "next_at": now,
        "created_at": now,
    }


@dataclass(frozen=True, slots=True)
class Due:
    """A pending outbox row with what its message needs from the ledger row (as it is now)."""

    id: int
    channel: str
    reason: str
    key: str
    owner: str | None
    raised_at: datetime
    attempts: int
    work_id: int | None
    kind: str | None
    work_key: str | None
    status: str | None  # the ledger row's status now: an exception cleared meanwhile is not alerted
    work_reason: str | None
    detail: str | None
    impact_minor: int
    currency: str | None
    system: str | None
    field: str | None

    @property
    def still_open(self) -> bool:
        return self.status == Status.PARKED and self.work_reason == self.reason


def due(conn: Connection, now: datetime, limit: int, *, report: bool = False) -> list[Due]:
    """Pending rows due now (alerts, or with `report` the daily reports), by channel, reason, age."""
    kind = alerts.c.channel.startswith("report:")
    query = (
        select(
            alerts.c.id,
            alerts.c.channel,
            alerts.c.reason,
            alerts.c.key,
            alerts.c.owner,
            alerts.c.raised_at,
            alerts.c.attempts,
            alerts.c.work_id,
            work.c.kind,
            work.c.key,
            work.c.status,
            work.c.reason,
            work.c.detail,
            func.coalesce(work.c.impact_minor, 0),
            work.c.currency,
            work.c.system,
            work.c.field,
        )
        .select_from(alerts.outerjoin(work, work.c.id == alerts.c.work_id))
        .where(alerts.c.status == PENDING, alerts.c.next_at <= now, kind if report else ~kind)
        .order_by(alerts.c.channel, alerts.c.reason, alerts.c.raised_at, alerts.c.id)
        .limit(limit)
    )
    return [Due(*tuple(row)) for row in conn.execute(query)]


def sent_since(conn: Connection, channel: str, reason: str, since: datetime) -> int:
    """Rows of this channel and reason delivered since `since`: the burst window's count so far."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(alerts)
            .where(
                alerts.c.channel == channel,
                alerts.c.reason == reason,
                alerts.c.status == SENT,
                alerts.c.sent_at >= since,
            )
        ).scalar_one()
    )


def mark_sent(conn: Connection, ids: Sequence[int], *, role: str, delivery: str, now: datetime) -> None:
    conn.execute(
        update(alerts)
        .where(alerts.c.id.in_(list(ids)), alerts.c.status == PENDING)
        .values(status=SENT, role=role, delivery=delivery[:64], sent_at=now, attempts=alerts.c.attempts + 1)
    )


def mark_cleared(conn: Connection, ids: Sequence[int]) -> None:
    """The exception was fixed (or retried) before its alert went: nothing to tell."""
    if ids:
        conn.execute(update(alerts).where(alerts.c.id.in_(list(ids))).values(status=CLEARED))


def mark_failed(
    conn: Connection, ids: Sequence[int], *, error: str, now: datetime, backoff: timedelta, max_attempts: int
) -> int:
    """One more failed attempt for these rows: due again after `backoff`, or given up (status failed) once
    they have had `max_attempts`. Returns how many were given up."""
    ids = list(ids)
    conn.execute(
        update(alerts)
        .where(alerts.c.id.in_(ids), alerts.c.status == PENDING)
        .values(attempts=alerts.c.attempts + 1, next_at=now + backoff, last_error=error[:2000])
    )
    result = conn.execute(
        update(alerts)
        .where(alerts.c.id.in_(ids), alerts.c.status == PENDING, alerts.c.attempts >= max_attempts)
        .values(status=FAILED)
    )
    return int(result.rowcount or 0)


def delay_channel(conn: Connection, channel: str, until: datetime, now: datetime) -> None:
    """A channel that just failed backs off as a whole: its other due rows wait too."""
    conn.execute(
        update(alerts)
        .where(alerts.c.channel == channel, alerts.c.status == PENDING, alerts.c.next_at <= now)
        .values(next_at=until)
    )


def status_counts(conn: Connection) -> dict[str, dict[str, int]]:
    """{channel: {status: rows}} for `trueup alerts status`."""
    out: dict[str, dict[str, int]] = {}
    query = select(alerts.c.channel, alerts.c.status, func.count()).group_by(
        alerts.c.channel, alerts.c.status
    )
    for channel, status, n in conn.execute(query):
        out.setdefault(str(channel), {})[str(status)] = int(n)
    return out


def last_errors(conn: Connection, limit: int = 10) -> list[dict[str, Any]]:
    query = (
        select(
            alerts.c.channel,
            alerts.c.reason,
            alerts.c.key,
            alerts.c.status,
            alerts.c.attempts,
            alerts.c.next_at,
            alerts.c.last_error,
        )
        .where(alerts.c.last_error.is_not(None), alerts.c.status.in_([PENDING, FAILED]))
        .order_by(alerts.c.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def report_row(conn: Connection, channel: str, day: str, now: datetime) -> tuple[int, str]:
    """The outbox row of one day's report on one channel, made when first asked for: (id, status)."""
    stmt = _insert(conn, alerts).on_conflict_do_nothing(
        index_elements=[alerts.c.channel, alerts.c.reason, alerts.c.key]
    )
    conn.execute(
        stmt,
        [
            {
                "channel": channel,
                "reason": "daily_report",
                "key": day,
                "raised_at": now,
                "status": PENDING,
                "attempts": 0,
                "next_at": now,
                "created_at": now,
            }
        ],
    )
    row = conn.execute(
        select(alerts.c.id, alerts.c.status, alerts.c.next_at).where(
            alerts.c.channel == channel, alerts.c.reason == "daily_report", alerts.c.key == day
        )
    ).one()
    status = str(row.status) if row.status != PENDING or row.next_at <= now else "waiting"
    return int(row.id), status
