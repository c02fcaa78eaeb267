"""Retention and erasure of personal data in the ledger, leaving the books intact.

What stays, always: each row's kind, key, status, amounts (impact, currency), result (the ERP's
reference), timestamps, the links between storefront and ERP records, and the audit trail. What goes: the
payload, the only place the ledger keeps a customer's name, address, phone and e-mail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from trueup.model.work import Status
from trueup.ports import Clock
from trueup.security.crypto import PREFIX, PayloadCipher, open_payload
from trueup.security.pii import erase_payload
from trueup.store import Store
from trueup.store.schema import audit, work
from trueup.store.state import add_audit

FINISHED = (Status.DONE, Status.IGNORED, Status.RESOLVED)
ERASED_MARK = "erased"
# A purged payload: plaintext, since it holds nothing personal, and recognisable so that it is never
# purged twice nor taken for an order.
TOMBSTONE_KEY = "purged"


def tombstone(now: datetime, why: str) -> str:
    return json.dumps({TOMBSTONE_KEY: why, "at": now.isoformat(timespec="seconds")})


def _purgeable(cutoff: datetime) -> Any:
    return (
        work.c.status.in_(FINISHED),
        work.c.updated_at < cutoff,
        ~work.c.payload.startswith('{"' + TOMBSTONE_KEY + '"'),
    )


def purge(
    conn: Connection, now: datetime, older_than: timedelta, *, actor: str, dry_run: bool = False
) -> int:
    """Replace the payloads of rows finished (done, ignored, resolved) longer than `older_than` ago with a
    tombstone; audited. Returns how many rows were (or, with `dry_run`, would be) purged."""
    cutoff = now - older_than
    if dry_run:
        return int(conn.execute(select(func.count()).where(*_purgeable(cutoff))).scalar_one())
    result = conn.execute(update(work).where(*_purgeable(cutoff)).values(payload=tombstone(now, "retention")))
    count = int(result.rowcount or 0)
    add_audit(
        conn,
        at=now,
        actor=actor,
        action="purge",
        kind="work",
        key="retention",
        note=f"payloads of rows finished before {cutoff.isoformat(timespec='seconds')}",
        detail={"count": count, "older_than_days": older_than.total_seconds() / 86400},
    )
    return count


def email_hash(email: str) -> str:
    """How an erasure names the person in the audit trail: never the address in clear. The same address
    always gives the same hash, so a repeated request can be matched to the first."""
    return "sha256:" + hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:24]


@dataclass
class Erasure:
    erased: list[str] = field(default_factory=list)  # keys of rows scrubbed
    unfinished: list[tuple[str, str]] = field(default_factory=list)  # (key, status): left, still in work
    audit_rows: int = 0


def _holds(data: Any, email: str) -> bool:
    """Whether parsed JSON holds `email` as a value anywhere (case-insensitive, exact)."""
    if isinstance(data, dict):
        return any(_holds(v, email) for v in data.values())
    if isinstance(data, list):
        return any(_holds(v, email) for v in data)
    return isinstance(data, str) and data.strip().lower() == email


def _candidates(conn: Connection, email: str, order: str | None) -> Iterator[tuple[int, str, str, str]]:
    """Rows that may hold `email`: every encrypted row (only decrypting tells), plaintext ones by a
    substring match the database can do."""
    query = select(work.c.id, work.c.key, work.c.status, work.c.payload).where(
        or_(
            work.c.payload.startswith(PREFIX),
            func.lower(work.c.payload).contains(email, autoescape=True),
        )
    )
    if order is not None:
        query = query.where(work.c.key == order)
    yield from conn.execute(query.order_by(work.c.id))


def erase(
    conn: Connection,
    email: str,
    cipher: PayloadCipher | None,
    now: datetime,
    *,
    actor: str,
    note: str,
    order: str | None = None,
) -> Erasure:
    """Remove the person with this e-mail address from every finished or parked row that holds them (or
    only `order`), and from audit notes; audited under a hash of the address. A row still in work (to do,
    waiting for payment, sent) is left and reported: erasing it would post an order without an address."""
    email = email.strip().lower()
    result = Erasure()
    for row_id, key, status, stored in _candidates(conn, email, order):
        try:
            data = json.loads(open_payload(stored, cipher))
        except ValueError:
            continue
        if not _holds(data, email):
            continue
        if status not in (*FINISHED, Status.PARKED):
            result.unfinished.append((key, status))
            continue
        erased = erase_payload(data)
        if isinstance(erased, dict):
            # An erased order must never be posted with "[erased]" for an address: the marker makes it no
            # longer read as an order, so a retry parks it as unreadable instead.
            erased[ERASED_MARK] = True
        scrubbed = json.dumps(erased)
        conn.execute(
            update(work)
            .where(work.c.id == row_id)
            .values(payload=cipher.seal(scrubbed) if cipher else scrubbed)
        )
        result.erased.append(key)
    # Audit notes are free text a person typed: the address is replaced wherever it was quoted.
    for audit_id, text, detail in conn.execute(
        select(audit.c.id, audit.c.note, audit.c.detail).where(
            or_(
                func.lower(audit.c.note).contains(email, autoescape=True),
                func.lower(audit.c.detail).contains(email, autoescape=True),
            )
        )
    ):
        conn.execute(
            update(audit)
            .where(audit.c.id == audit_id)
            .values(note=_replace(text, email), detail=_replace(detail, email))
        )
        result.audit_rows += 1
    add_audit(
        conn,
        at=now,
        actor=actor,
        action="erase",
        kind="customer",
        key=email_hash(email),
        note=note,
        detail={
            "orders": result.erased,
            "left_in_work": [k for k, _ in result.unfinished],
            "audit_rows": result.audit_rows,
        },
    )
    return result


def _replace(text: str, email: str) -> str:
    lowered = text.lower()
    out, start = [], 0
    while (at := lowered.find(email, start)) >= 0:
        out.append(text[start:at] + "[erased]")
        start = at + len(email)
    return "".join(out) + text[start:]


class PurgeTask:
    """`trueup run`'s daily purge (a periodic task of the engine), on the engine's database thread."""

    name = "retention purge"

    def __init__(
        self,
        store: Store,
        retention: timedelta,
        clock: Clock,
        call: Callable[[Callable[[], int]], Awaitable[int]],
    ) -> None:
        self.store, self.retention, self.clock, self.call = store, retention, clock, call

    def _purge(self) -> int:
        with self.store.tx() as conn:
            return purge(conn, self.clock.now(), self.retention, actor="engine")

    async def sync(self) -> int:
        return await self.call(self._purge)
