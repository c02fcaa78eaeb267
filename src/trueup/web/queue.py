"""The dashboard's one door to the exception queue: listing, detail and actions.

Every read and every action of the queue that the web layer makes goes through this module. Actions go
through the queue's service, `trueup.queue.QueueActions` (the CLI calls the same): retry, resolve, ignore,
accept-and-post, map-and-retry and edit-and-post, each audited with the actor `web:<user>` and a note, and
written to the exception's history (`work_events`). The actions offered for an exception are exactly
`actions_for(reason)` (model/exceptions.py), on the pages and in the API. The detail is the store's
`show` (payload, history, audit). The list is this module's own keyset page over the ledger (filters and
search the store's listing does not have), selected with the store's public `COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, func, or_, select

from trueup.model.exceptions import MAPS, REASONS, Action, Reason, actions_for
from trueup.queue import ActionResult, QueueActions, QueueError, Selection
from trueup.security.crypto import PayloadCipher
from trueup.security.pii import mask_text
from trueup.security.reveal import masked_view
from trueup.store import exceptions as store_exceptions
from trueup.store.exceptions import ExceptionRow
from trueup.store.schema import work
from trueup.web.auth import User

PAGE = 50
# Actions that take one exception and something more (a mapping's target, an address): on the detail page.
SINGLE = (str(Action.MAP_AND_RETRY), str(Action.EDIT_AND_POST))
# The address fields edit-and-post may change (QueueActions.edit_and_post), as form fields.
ADDRESS_FIELDS = ("first_name", "last_name", "company", "street", "city", "region", "postcode", "country")


def all_actions() -> tuple[str, ...]:
    """Every action the queue has (model/exceptions.py `Action`), in its order."""
    return tuple(str(a) for a in Action)


def offered_actions(reason: str | None = None) -> tuple[str, ...]:
    """The actions an exception with this reason offers (`actions_for`), first the one that usually fixes
    it; with no reason, the common ones (retry, resolve, ignore)."""
    return tuple(str(a) for a in actions_for(reason))


def bulk_actions(reason: str | None = None) -> tuple[str, ...]:
    """What the list offers for ticked rows: the reason's actions that take a selection."""
    return tuple(a for a in offered_actions(reason) if a not in SINGLE)


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
        select(*store_exceptions.COLUMNS)
        .where(*_where(f, searchable_payload=not sealed))
        .order_by(work.c.id.desc())
        .limit(max(1, min(f.limit, 500)))
    )
    if f.before is not None:
        query = query.where(work.c.id < f.before)
    rows = [store_exceptions.to_row(r) for r in conn.execute(query)]
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
    """One exception with its payload, history (raised, attempts, actions, cleared), audit trail, Resolution
    text and the actions it offers. The caller masks it."""
    found = store_exceptions.show(conn, f"#{ident}", cipher)
    if found is None:
        return None
    info = REASONS.get(Reason(found["reason"])) if found.get("reason") in set(Reason) else None
    found["title"] = info.title if info else ""
    found["meaning"] = info.meaning if info else ""
    found["resolution"] = info.resolution if info else ""
    found["actions"] = list(offered_actions(found.get("reason")))
    found["map_kind"] = MAPS.get(Reason(found["reason"]), "") if info else ""
    found["map_source"] = _mapped_source(found)
    return found


def _mapped_source(found: dict[str, Any]) -> str:
    """What a map-and-retry maps, for the form's label: the order's shipping method for a carrier (the
    storefront's code is not personal data); for a SKU, the exception's own text names it."""
    payload = found.get("payload")
    if found["map_kind"] == "carrier" and isinstance(payload, dict):
        shipping = payload.get("shipping")
        method = shipping.get("method") if isinstance(shipping, dict) else payload.get("shipping_method")
        return str(method or "")
    return ""


def masked(found: dict[str, Any]) -> dict[str, Any]:
    """`masked_view` and the history's notes masked too (a raised exception's text may quote an address)."""
    shown = masked_view(found)
    return {
        **shown,
        "history": [{**h, "note": mask_text(str(h.get("note") or ""))} for h in shown["history"]],
    }


@dataclass(frozen=True, slots=True)
class ActResult:
    id: int
    ok: bool
    key: str = ""
    error: str = ""
    action: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ok": self.ok,
            "key": self.key,
            "action": self.action,
            **({"error": self.error} if self.error else {}),
            **({"detail": self.detail} if self.detail else {}),
        }

    @classmethod
    def of(cls, r: ActionResult) -> ActResult:
        return cls(r.id, r.ok, r.key, r.error, r.action, dict(r.detail))


class Forbidden(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Request:
    """One action asked for from a page or the API. `target` is map-and-retry's ERP side (an ERP SKU, or a
    carrier as CARRIER/SERVICE); `changes` are edit-and-post's (`shipping_address.postcode` → value)."""

    action: str
    ids: Sequence[int]
    note: str
    target: str = ""
    changes: dict[str, str] = field(default_factory=dict)


def act(service: QueueActions, req: Request, *, user: User) -> list[ActResult]:
    """Apply one action through the queue's service, as `web:<user>`. A row the user's team does not own is
    refused whole (nothing done) so that a bulk action never half-applies across teams; an action the
    row's reason does not offer is refused for that row. Raises ValueError (QueueError) for a bad request."""
    action, note = req.action, req.note.strip()
    if action not in all_actions():
        raise QueueError(f"unknown action {action!r}; expected one of {', '.join(all_actions())}")
    if not note:
        raise QueueError("a note saying why is required (it is kept in the audit trail)")
    if not req.ids:
        raise QueueError("choose at least one exception")
    if action in SINGLE and len(req.ids) != 1:
        raise QueueError(f"{action} takes one exception at a time (open it and use its form)")
    with service.store.tx() as conn:
        rows = {i: store_exceptions.find(conn, f"#{i}") for i in dict.fromkeys(req.ids)}
    found = {i: r for i, r in rows.items() if r is not None}
    foreign = [i for i, r in found.items() if not user.may_act_on(r.owner)]
    if foreign or not user.acts:
        raise Forbidden(
            f"{user.name} ({user.role}) may not act on "
            + (", ".join(f"#{i}" for i in foreign) if foreign else "any exception")
        )
    results = {i: ActResult(i, False, error="not found", action=action) for i in rows if i not in found}
    offered = [i for i, r in found.items() if action in offered_actions(r.reason)]
    for i in found:
        if i not in offered:
            results[i] = ActResult(
                i, False, found[i].key, f"{action} is not offered for {found[i].reason}", action
            )
    actor = f"web:{user.name}"
    if offered:
        done = _call(service, req, [f"#{i}" for i in offered], actor=actor, note=note)
        for r in done:
            results[r.id] = ActResult.of(r)
    first = [results.pop(i) for i in dict.fromkeys(req.ids) if i in results]
    return first + list(results.values())  # then any others a mapping unblocked


def _call(
    service: QueueActions, req: Request, idents: list[str], *, actor: str, note: str
) -> list[ActionResult]:
    action = req.action
    if action == Action.MAP_AND_RETRY:
        return service.map_and_retry(idents[0], req.target, actor=actor, note=note)
    if action == Action.EDIT_AND_POST:
        return service.edit_and_post(idents[0], req.changes, actor=actor, note=note)
    method = {
        Action.RETRY: service.retry,
        Action.RESOLVE: service.resolve,
        Action.IGNORE: service.ignore,
        Action.ACCEPT_AND_POST: service.accept_and_post,
    }[Action(action)]
    return method(Selection(idents), actor=actor, note=note)
