"""Read-only questions the dashboard asks the ledger: the overview per team, each flow's health, the
exceptions over time, and the order trace for customer service.

Flows are read generically from the ledger (`work.kind`, `cursors.flow`, `links.kind`), so a new flow shows
here without a change to the web code.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from trueup.model.exceptions import REASONS, Reason
from trueup.model.work import Status
from trueup.security.crypto import PayloadCipher, open_payload
from trueup.security.pii import mask_email, mask_name, mask_postcode, mask_text
from trueup.store.schema import cursors, links, work

BACKLOG = (Status.TODO, Status.RETRYING, Status.DOING)
# Circuit states of the running engine, by system, when the dashboard runs inside it (else unknown).
BreakerStates = Callable[[], dict[str, str]]


def _minor(total: int, currency: str | None) -> str:
    return f"{currency or ''} {Decimal(total) / 100:,.2f}".strip()


def overview(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Per owner team: open exceptions by reason, money at risk by currency, oldest and newest age."""
    rows = conn.execute(
        select(
            work.c.owner,
            work.c.reason,
            work.c.currency,
            func.count(),
            func.sum(work.c.impact_minor),
            func.min(work.c.created_at),
        )
        .where(work.c.status == Status.PARKED, work.c.reason.is_not(None))
        .group_by(work.c.owner, work.c.reason, work.c.currency)
    )
    teams: dict[str, dict[str, Any]] = {}
    for owner, reason, currency, n, impact, oldest in rows:
        t = teams.setdefault(
            owner or "unowned", {"team": owner or "unowned", "open": 0, "reasons": {}, "money": {}}
        )
        t["open"] += int(n)
        t["reasons"][reason] = t["reasons"].get(reason, 0) + int(n)
        if currency and impact:
            t["money"][currency] = t["money"].get(currency, 0) + int(impact)
        if oldest is not None and ("oldest" not in t or oldest < t["oldest"]):
            t["oldest"] = oldest
    result = []
    for t in sorted(teams.values(), key=lambda t: t["team"]):
        oldest = t.pop("oldest", None)
        t["oldest_age_hours"] = round((now - oldest).total_seconds() / 3600, 1) if oldest else 0.0
        t["money_at_risk"] = {c: _minor(v, c) for c, v in sorted(t.pop("money").items())}
        t["reasons"] = dict(sorted(t["reasons"].items(), key=lambda kv: -kv[1]))
        t["units_at_risk"] = _units(conn, t["team"])
        result.append(t)
    return result


def _units(conn: Connection, owner: str, bound: int = 2000) -> int:
    """Units on the open order exceptions of `owner` (read from at most `bound` plain payloads)."""
    payloads = conn.execute(
        select(work.c.payload)
        .where(work.c.status == Status.PARKED, work.c.owner == owner, work.c.kind == "order.post")
        .limit(bound)
    ).scalars()
    units = Decimal(0)
    for text in payloads:
        if not text.startswith("{"):
            continue  # sealed: not opened for a figure
        try:
            units += sum(Decimal(str(line.get("qty", 0))) for line in json.loads(text).get("lines", []))
        except (ValueError, TypeError, AttributeError, ArithmeticError):
            continue
    return int(units)


def flow_health(
    conn: Connection, now: datetime, breakers: BreakerStates | None = None
) -> list[dict[str, Any]]:
    """Per kind of work: backlog, lag (how late the oldest due row is), last success, error rate over the
    last hour (rows that failed to reach a system, retrying or parked for it, over rows touched; a bad
    record parked for a person is not an error of the flow), and the circuit state when known."""
    hour = now - timedelta(hours=1)
    due = and_(work.c.status.in_(BACKLOG), work.c.next_at <= now)
    rows = conn.execute(
        select(
            work.c.kind,
            work.c.lane,
            func.sum(case((work.c.status.in_(BACKLOG), 1), else_=0)),
            func.min(case((due, work.c.next_at), else_=None)),
            func.max(case((work.c.status == Status.DONE, work.c.updated_at), else_=None)),
            func.sum(case((work.c.updated_at >= hour, 1), else_=0)),
            func.sum(
                case(
                    (
                        and_(
                            work.c.updated_at >= hour,
                            work.c.status.in_([Status.PARKED, Status.RETRYING]),
                            # a failure to talk to a system; a record's own fault (skippable) is not one
                            work.c.error_band.is_not(None),
                            work.c.error_band != "skippable",
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
            func.sum(case((work.c.status == Status.PARKED, 1), else_=0)),
        ).group_by(work.c.kind, work.c.lane)
    )
    states = breakers() if breakers else {}
    down = sorted(system for system, state in states.items() if state == "down")
    circuit = (f"down: {', '.join(down)}" if down else "ok") if states else "unknown"
    result = []
    for kind, lane, backlog, oldest_due, last_ok, touched, failed, parked in rows:
        result.append(
            {
                "flow": kind,
                "lane": lane,
                "backlog": int(backlog or 0),
                "lag_seconds": round((now - oldest_due).total_seconds(), 1) if oldest_due else 0.0,
                "last_success": last_ok.isoformat(timespec="seconds") if last_ok else None,
                "error_rate": round(int(failed or 0) / int(touched), 3) if touched else 0.0,
                "open_exceptions": int(parked or 0),
                "circuit": circuit,
            }
        )
    for flow, source, updated in conn.execute(select(cursors.c.flow, cursors.c.source, cursors.c.updated_at)):
        result.append(
            {
                "flow": f"observe {flow}",
                "lane": source,
                "backlog": 0,
                "lag_seconds": round((now - updated).total_seconds(), 1),
                "last_success": updated.isoformat(timespec="seconds"),
                "error_rate": 0.0,
                "open_exceptions": 0,
                "circuit": states.get(source, circuit) if states else "unknown",
            }
        )
    return sorted(result, key=lambda r: (r["flow"], r["lane"]))


def by_reason_owner(conn: Connection) -> list[tuple[str, str, int]]:
    rows = conn.execute(
        select(work.c.reason, work.c.owner, func.count())
        .where(work.c.status == Status.PARKED, work.c.reason.is_not(None))
        .group_by(work.c.reason, work.c.owner)
    )
    return [(str(r), str(o or "unowned"), int(n)) for r, o, n in rows]


def over_time(conn: Connection, now: datetime, days: int = 14, by: str = "owner") -> dict[str, list[int]]:
    """Exceptions parked per day (by the day the row was created) over the last `days`, per team or reason,
    for those still open or closed by a person (resolved, ignored: their reason is kept)."""
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    column = work.c.owner if by == "owner" else work.c.reason
    series: dict[str, list[int]] = defaultdict(lambda: [0] * days)
    rows = conn.execute(
        select(column, work.c.created_at).where(
            work.c.reason.is_not(None),
            work.c.created_at >= start,
            work.c.status.in_([Status.PARKED, Status.RESOLVED, Status.IGNORED]),
        )
    )
    for name, created in rows:
        index = (created - start).days
        if 0 <= index < days:
            series[str(name or "unowned")][index] += 1
    return dict(sorted(series.items()))


TRACKING = {
    "RM": "https://www.royalmail.com/track-your-item#/tracking-results/{}",
    "DPD": "https://track.dpd.co.uk/parcels/{}",
    "DHL": "https://www.dhl.com/gb-en/home/tracking.html?tracking-id={}",
    "UPS": "https://www.ups.com/track?tracknum={}",
    "EVRI": "https://www.evri.com/track/parcel/{}",
}


def _payload(text: str, cipher: PayloadCipher | None) -> dict[str, Any]:
    try:
        value = json.loads(open_payload(text, cipher))
    except Exception:  # an unreadable payload shows as empty, not as a failed page
        return {}
    return value if isinstance(value, dict) else {}


def find_orders(conn: Connection, query: str, cipher: PayloadCipher | None, limit: int = 20) -> list[str]:
    """Order ids matching an order id, an e-mail address or a postcode (case and spaces ignored)."""
    q = query.strip()
    if not q:
        return []
    exact = conn.execute(select(work.c.key).where(work.c.kind == "order.post", work.c.key == q)).scalars()
    found = list(exact)
    if found:
        return found
    needle = q.lower().replace(" ", "")
    cursor = conn.execute(
        select(work.c.key, work.c.payload).where(work.c.kind == "order.post").order_by(work.c.id.desc())
    )
    for key, text in cursor:
        order = _payload(text, cipher)
        people = [order.get("customer") or {}, order.get("billing_address") or {}]
        people.append(order.get("shipping_address") or {})
        values = {str(p.get(f, "")).lower().replace(" ", "") for p in people for f in ("email", "postcode")}
        if needle in values:
            found.append(str(key))
            if len(found) >= limit:
                break
    return found


def _literal(text: str) -> str:
    """`text` matched literally inside a LIKE pattern (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def trace(conn: Connection, order_id: str, cipher: PayloadCipher | None) -> dict[str, Any] | None:
    """Everything trueup knows about one order: captured, posted (ERP reference), despatched (carrier and
    tracking), refunded, and any open exception, from every kind of work that names the order."""
    rows = list(
        conn.execute(
            select(
                work.c.id,
                work.c.kind,
                work.c.key,
                work.c.status,
                work.c.reason,
                work.c.owner,
                work.c.detail,
                work.c.result,
                work.c.payload,
                work.c.created_at,
                work.c.updated_at,
            )
            .where(
                or_(
                    work.c.key == order_id,
                    work.c.lock.like(f"%:{_literal(order_id)}", escape="\\"),
                    work.c.key.like(f"%:{_literal(order_id)}", escape="\\"),
                )
            )
            .order_by(work.c.id)
        )
    )
    if not rows:
        return None
    order_links = dict(
        conn.execute(
            select(links.c.kind, links.c.erp_ref).where(
                links.c.external_id == order_id, links.c.kind == "order"
            )
        ).all()
    )
    steps: list[dict[str, Any]] = []
    customer: dict[str, Any] = {}
    for r in rows:
        body = _payload(r.payload, cipher)
        step: dict[str, Any] = {
            "id": r.id,
            "kind": r.kind,
            "status": r.status,
            "at": r.updated_at.isoformat(timespec="seconds"),
            "reason": r.reason,
            "owner": r.owner,
            "detail": mask_text(r.detail) if r.detail else r.detail,
            "result": r.result,
        }
        if r.kind == "order.post":
            step["stage"] = "posted" if r.status == Status.DONE else "captured"
            step["erp_ref"] = order_links.get("order") or (r.result if r.status == Status.DONE else None)
            step["total"] = body.get("grand_total")
            step["currency"] = body.get("currency")
            step["placed_at"] = body.get("created_at")
            shipping = body.get("shipping_address") or {}
            customer = {
                "email": (body.get("customer") or {}).get("email"),
                "postcode": shipping.get("postcode"),
                "name": " ".join(filter(None, [shipping.get("first_name"), shipping.get("last_name")])),
            }
        elif r.kind.startswith("despatch"):
            step["stage"] = "despatched"
            carrier = str(body.get("carrier") or "")
            step["carrier"] = " ".join(filter(None, [carrier, body.get("service")]))
            template = TRACKING.get(carrier.upper())
            step["tracking"] = [
                {"number": n, "url": template.format(n) if template else None}
                for n in body.get("tracking_numbers", [])
            ]
            step["shipment"] = r.result if r.status == Status.DONE else None
        elif "refund" in r.kind or "credit" in r.kind:
            step["stage"] = "refunded"
            step["credit_note"] = r.result
        else:
            step["stage"] = r.kind
        step["open_exception"] = r.status == Status.PARKED
        if r.reason and r.reason in set(Reason):
            step["resolution"] = REASONS[Reason(r.reason)].resolution
        steps.append(step)
    return {"order_id": order_id, "customer": customer, "steps": steps}


def masked_trace(found: dict[str, Any]) -> dict[str, Any]:
    """A trace for a role that may not see the customer: e-mail, postcode and name masked."""
    c = found["customer"]
    masked = {
        "email": mask_email(c["email"]) if c.get("email") else "",
        "postcode": mask_postcode(str(c.get("postcode") or "")),
        "name": mask_name(str(c.get("name") or "")),
    }
    return {**found, "customer": masked}
