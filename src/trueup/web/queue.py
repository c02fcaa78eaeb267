"""The dashboard's one door to the exception queue: listing, detail and actions.

Every read and every action of the queue that the web layer makes goes through this module, so that the
queue's store API can change (new actions, a history table) by rewiring this file alone. Today it calls
`trueup.store.exceptions` (list, show, act: retry, resolve, ignore, each audited in its transaction).
Actions the store does not offer yet (accept-and-post, map-and-retry) are listed by `offered_actions()`
only once they exist, and the pages and the API show exactly what is listed there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from trueup.model.exceptions import REASONS, Reason
from trueup.security.crypto import PayloadCipher
from trueup.security.pii import mask_text
from trueup.store import exceptions as store_exceptions
from trueup.store.exceptions import ExceptionRow
from trueup.store.schema import work
from trueup.web.auth import User

PAGE = 50


def offered_actions() -> tuple[str, ...]:
    """The queue's actions, in the order the pages show them."""
    return tuple(store_exceptions._TRANSITIONS)


@dataclass(frozen=True, slots=True)
class Filters:
    reason: str | None = None
    owner: str | None = None
    q: str | None = None  # an order id (the key) or a SKU
    status: str = "parked"
    before: int | None = None  # keyset paging on the ledger id (never an offset)
    limit: int = PAGE


def _where(f: Filters, *, searchable_payload: bool) -> list[Any]:
    clauses: list[Any] = [work.c.status == f.status, work.c.reason.is_not(None)]
    if f.reason:
        clauses.append(work.c.reason == f.reason)
    if f.owner:
        # With a reason too, `owner || ''` keeps the planner (SQLite has no statistics) off the team's index,
        # which would test the reason on every one of the team's rows: the reason's index is narrower.
        clauses.append((work.c.owner + "" if f.reason else work.c.owner) == f.owner)
    if f.q:
        q = f.q.strip()
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        options = [work.c.key == q, work.c.key == q.lstrip("#"), work.c.detail.like(like, escape="\\")]
        if searchable_payload:  # sealed payloads cannot be searched; the detail names the SKU anyway
            options.append(work.c.payload.like(f'%"sku":"{q.replace(chr(34), "")}"%'))
        clauses.append(or_(*options))
    return clauses


def list_page(conn: Connection, f: Filters, *, sealed: bool = False) -> list[ExceptionRow]:
    """One page of exceptions, newest first; the next page is `before=<last id>`."""
    query = (
        select(*store_exceptions._COLUMNS)
        .where(*_where(f, searchable_payload=not sealed))
        .order_by(work.c.id.desc())
        .limit(max(1, min(f.limit, 500)))
    )
    if f.before is not None:
        query = query.where(work.c.id < f.before)
    rows = [store_exceptions._row(r) for r in conn.execute(query)]
    return [replace(r, detail=mask_text(r.detail)) if r.detail else r for r in rows]


COUNT_CAP = 10_000


def count(conn: Connection, f: Filters, *, sealed: bool = False) -> int:
    """How many match, counted up to COUNT_CAP + 1 (a page then says "10000+"): counting a whole queue of
    100,000 on every page would cost more than the page."""
    where = _where(replace(f, before=None), searchable_payload=not sealed)
    capped = select(work.c.id).where(*where).limit(COUNT_CAP + 1).subquery()
    return int(conn.execute(select(func.count()).select_from(capped)).scalar_one())


def row(conn: Connection, ident: int) -> ExceptionRow | None:
    return store_exceptions.find(conn, f"#{ident}")


def detail(conn: Connection, ident: int, cipher: PayloadCipher | None) -> dict[str, Any] | None:
    """One exception with its payload, audit trail and Resolution text. The caller masks it."""
    found = store_exceptions.show(conn, f"#{ident}", cipher)
    if found is None:
        return None
    info = REASONS.get(Reason(found["reason"])) if found.get("reason") in set(Reason) else None
    found["title"] = info.title if info else ""
    found["meaning"] = info.meaning if info else ""
    found["resolution"] = info.resolution if info else ""
    return found


@dataclass(frozen=True, slots=True)
class ActResult:
    id: int
    ok: bool
    key: str = ""
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ok": self.ok,
            "key": self.key,
            **({"error": self.error} if self.error else {}),
        }


class Forbidden(Exception):
    pass


def act(
    conn: Connection, action: str, ids: Sequence[int], *, user: User, note: str, now: datetime
) -> list[ActResult]:
    """Apply `action` to each exception, audited with the user as actor. A row the user's team does not own
    is refused whole (nothing done) so that a bulk action never half-applies across teams."""
    if action not in offered_actions():
        raise ValueError(f"unknown action {action!r}")
    if not note.strip():
        raise ValueError("a note saying why is required (it is kept in the audit trail)")
    rows = [(i, row(conn, i)) for i in ids]
    foreign = [i for i, r in rows if r is not None and not user.may_act_on(r.owner)]
    if foreign or not user.acts:
        raise Forbidden(
            f"{user.name} ({user.role}) may not act on "
            + (", ".join(f"#{i}" for i in foreign) if foreign else "any exception")
        )
    results = []
    for i, r in rows:
        if r is None:
            results.append(ActResult(i, False, error="not found"))
            continue
        ok = store_exceptions.act(conn, action, r, actor=f"web:{user.name}", note=note.strip(), now=now)
        error = "" if ok else f"status {r.status} does not allow {action}"
        results.append(ActResult(i, ok, r.key, error))
    return results
