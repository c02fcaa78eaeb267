"""The daily report: per owner team, the day's exceptions, what was resolved and by whom, what is ageing.

Read from what the store keeps: the ledger's rows (a parked row's `updated_at` is when it parked), the
alert outbox (which remembers an exception even after its order finally posted and the ledger row lost its
reason), and the audit trail for who acted. On a day with no audit rows for exception actions, resolved
and ignored rows of the ledger stand in, marked "(not audited)".
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from trueup.model.exceptions import Reason, owner_of
from trueup.model.work import Status
from trueup.security.pii import mask_text
from trueup.store.schema import alerts, audit, work

# Audit actions that are not a person acting on an exception.
NOT_EXCEPTION_ACTIONS = ("purge", "requeue", "erase")


@dataclass(frozen=True, slots=True)
class Line:
    section: str  # raised, resolved or ageing
    team: str
    reason: str
    kind: str
    key: str
    id: int | None
    status: str
    raised_at: datetime | None
    at: datetime | None = None  # when it was acted on (resolved section)
    actor: str = ""
    action: str = ""
    note: str = ""
    age_hours: float | None = None
    impact_minor: int = 0
    currency: str | None = None

    def row(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("raised_at", "at"):
            out[k] = out[k].isoformat(timespec="seconds") if out[k] else ""
        out["age_hours"] = "" if self.age_hours is None else f"{self.age_hours:.1f}"
        return out


@dataclass
class DailyReport:
    day: date
    cutoff: datetime  # the end of the day, or the moment the report was made if earlier
    ageing_hours: float
    audited: bool
    lines: list[Line] = field(default_factory=list)

    def section(self, name: str, team: str | None = None) -> list[Line]:
        return [x for x in self.lines if x.section == name and (team is None or x.team == team)]

    def teams(self) -> list[str]:
        return sorted({x.team for x in self.lines})

    def summary(self) -> dict[str, dict[str, int]]:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for x in self.lines:
            counts[x.team][x.section] += 1
        return {team: {s: counts[team][s] for s in ("raised", "resolved", "ageing")} for team in self.teams()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "cutoff": self.cutoff.isoformat(timespec="seconds"),
            "audited": self.audited,
            "summary": self.summary(),
            "lines": [x.row() for x in self.lines],
        }


def _team(reason: str | None, owner: str | None) -> str:
    if owner:
        return owner
    try:
        return str(owner_of(Reason(reason or "")))
    except ValueError:
        return "unknown"


def _raised(conn: Connection, start: datetime, end: datetime) -> list[Line]:

    def in_day(column: Any) -> Any:
        return and_(column >= start, column < end)

    cols = (
        work.c.id,
        work.c.kind,
        work.c.key,
        work.c.status,
        work.c.reason,
        work.c.owner,
        work.c.created_at,
        work.c.updated_at,
        work.c.impact_minor,
        work.c.currency,
    )
    query = select(*cols).where(
        work.c.reason.is_not(None),
        or_(
            and_(work.c.status == Status.PARKED, or_(in_day(work.c.updated_at), in_day(work.c.created_at))),
            and_(work.c.status.in_([Status.RESOLVED, Status.IGNORED]), in_day(work.c.created_at)),
        ),
    )
    lines: dict[int, Line] = {}
    for r in conn.execute(query):
        raised = (
            r.updated_at if r.status == Status.PARKED and in_range(r.updated_at, start, end) else r.created_at
        )
        lines[r.id] = Line(
            "raised",
            _team(r.reason, r.owner),
            r.reason,
            r.kind,
            r.key,
            r.id,
            r.status,
            raised,
            impact_minor=int(r.impact_minor or 0),
            currency=r.currency,
        )
    # exceptions the alert task saw that day, whose ledger row has moved on since (posted after a retry)
    seen = (
        select(alerts.c.work_id, alerts.c.reason, alerts.c.owner, alerts.c.raised_at, *cols[1:4])
        .select_from(alerts.join(work, work.c.id == alerts.c.work_id))
        .where(in_day(alerts.c.raised_at), ~alerts.c.channel.startswith("report:"))
    )
    for s in conn.execute(seen):
        if s.work_id not in lines:
            lines[s.work_id] = Line(
                "raised", _team(s.reason, s.owner), s.reason, s.kind, s.key, s.work_id, s.status, s.raised_at
            )
    return sorted(lines.values(), key=lambda x: (x.team, x.reason, x.raised_at or start, x.key))


def in_range(moment: datetime, start: datetime, end: datetime) -> bool:
    return start <= moment < end


def _resolved(conn: Connection, start: datetime, end: datetime) -> tuple[list[Line], bool]:
    query = (
        select(
            audit.c.at,
            audit.c.actor,
            audit.c.action,
            audit.c.kind,
            audit.c.key,
            audit.c.note,
            audit.c.detail,
            work.c.id,
            work.c.status,
            work.c.reason,
            work.c.owner,
            work.c.impact_minor,
            work.c.currency,
            work.c.created_at,
        )
        .select_from(audit.outerjoin(work, and_(work.c.kind == audit.c.kind, work.c.key == audit.c.key)))
        .where(audit.c.at >= start, audit.c.at < end, audit.c.action.not_in(NOT_EXCEPTION_ACTIONS))
        .order_by(audit.c.at, audit.c.id)
    )
    lines = []
    for r in conn.execute(query):
        try:
            detail = json.loads(r.detail or "{}")
        except ValueError:
            detail = {}
        reason = str(detail.get("reason") or r.reason or "")
        lines.append(
            Line(
                "resolved",
                _team(reason, r.owner),
                reason,
                r.kind,
                r.key,
                r.id,
                r.status or "",
                r.created_at,
                at=r.at,
                actor=r.actor,
                action=r.action,
                note=mask_text(r.note or ""),
                impact_minor=int(r.impact_minor or 0),
                currency=r.currency,
            )
        )
    if lines:
        return lines, True
    # no audit trail that day: the ledger's resolved and ignored rows, without a name
    fallback = select(
        work.c.id,
        work.c.kind,
        work.c.key,
        work.c.status,
        work.c.reason,
        work.c.owner,
        work.c.created_at,
        work.c.updated_at,
        work.c.impact_minor,
        work.c.currency,
    ).where(
        work.c.status.in_([Status.RESOLVED, Status.IGNORED]),
        work.c.updated_at >= start,
        work.c.updated_at < end,
    )
    for r in conn.execute(fallback.order_by(work.c.updated_at, work.c.id)):
        lines.append(
            Line(
                "resolved",
                _team(r.reason, r.owner),
                r.reason or "",
                r.kind,
                r.key,
                r.id,
                r.status,
                r.created_at,
                at=r.updated_at,
                actor="(not audited)",
                action="resolve" if r.status == Status.RESOLVED else "ignore",
                impact_minor=int(r.impact_minor or 0),
                currency=r.currency,
            )
        )
    return lines, False


def _ageing(conn: Connection, cutoff: datetime, ageing: timedelta) -> list[Line]:
    query = (
        select(
            work.c.id,
            work.c.kind,
            work.c.key,
            work.c.reason,
            work.c.owner,
            work.c.created_at,
            work.c.impact_minor,
            work.c.currency,
        )
        .where(work.c.status == Status.PARKED, work.c.created_at <= cutoff - ageing)
        .order_by(work.c.created_at, work.c.id)
    )
    return [
        Line(
            "ageing",
            _team(r.reason, r.owner),
            r.reason or "",
            r.kind,
            r.key,
            r.id,
            Status.PARKED,
            r.created_at,
            age_hours=(cutoff - r.created_at).total_seconds() / 3600,
            impact_minor=int(r.impact_minor or 0),
            currency=r.currency,
        )
        for r in conn.execute(query)
    ]


def build(conn: Connection, day: date, now: datetime, *, ageing_hours: float = 24) -> DailyReport:
    start = datetime.combine(day, time(0))
    end = start + timedelta(days=1)
    cutoff = min(end, now)
    resolved, audited = _resolved(conn, start, end)
    report = DailyReport(day, cutoff, ageing_hours, audited)
    report.lines = [
        *_raised(conn, start, end),
        *resolved,
        *_ageing(conn, cutoff, timedelta(hours=ageing_hours)),
    ]
    return report
