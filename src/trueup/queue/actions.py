"""The exception queue's actions: one service that the CLI and the web dashboard both call.

`QueueActions(store)` offers each action a person can take on exceptions, every one with an `actor` (who)
and a `note` (why), both required, audited and written to the exception's history in the same transaction:

- `retry(selection, ...)`: plan and post again, after the cause is fixed.
- `accept_and_post(selection, ...)`: a tax or totals variance is accepted as the storefront has it; the
  order posts with the storefront's figures (the planner lets exactly those figures through for that order)
  and each variance goes to finance's reconciliation list (`variances()`).
- `map_and_retry(ident, target, ...)`: map the exception's storefront SKU or shipping method to the ERP's,
  in the store's mapping table (merged under `[mappings.*]` at plan time), and retry every open exception
  that used it.
- `edit_and_post(ident, changes, ...)`: correct the address trueup holds for the order, then post.
- `resolve(selection, ...)`: fixed outside trueup. `ignore(selection, ...)`: needs nothing.

A `Selection` names ids (`#12` or an order id) and/or a bulk filter (reason, owner, since); an exception
named twice is acted on once. Bad input (an unknown id or reason, no note, no actor) raises `QueueError`
before anything changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, select

from trueup.model.exceptions import MAPS, Action, Owner, Reason, actions_for
from trueup.model.orders import Order
from trueup.ports import Clock
from trueup.queue.variances import variance_rows
from trueup.rules.lines import booked_lines
from trueup.runtime.clock import SystemClock
from trueup.security.crypto import open_payload
from trueup.store import Store
from trueup.store import queue as queue_store
from trueup.store.exceptions import ExceptionRow, act, find, list_exceptions
from trueup.store.schema import work

ORDER_KIND = "order.post"  # the order flow's ledger kind (trueup.flows.orders.KIND)
_ADDRESS_FIELDS = ("first_name", "last_name", "company", "street", "city", "region", "postcode", "country")


class QueueError(ValueError):
    """The request itself is wrong (an unknown id or reason, no note): nothing was changed."""


@dataclass(frozen=True, slots=True)
class Selection:
    """Which exceptions: named ones, and/or every open one matching a bulk filter."""

    idents: Sequence[str] = ()
    reason: str | None = None
    owner: str | None = None
    since: datetime | None = None

    @property
    def bulk(self) -> bool:
        return bool(self.reason or self.owner or self.since)


@dataclass(frozen=True, slots=True)
class ActionResult:
    action: str
    id: int
    key: str
    ok: bool
    error: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = {"action": self.action, "id": self.id, "key": self.key, "ok": self.ok}
        return (
            out
            | ({"error": self.error} if self.error else {})
            | ({"detail": self.detail} if self.detail else {})
        )


@dataclass(frozen=True, slots=True)
class Prepared:
    """An action's own work done: what to add to its audit, and the payload to store (an edit)."""

    detail: dict[str, Any] = field(default_factory=dict)
    payload: str | None = None


_ALWAYS = (Action.RETRY, Action.RESOLVE, Action.IGNORE)


class QueueActions:
    def __init__(
        self,
        store: Store,
        clock: Clock | None = None,
        *,
        line_tax_tolerance: Decimal = Decimal("0.01"),
        tax_tolerance: Decimal = Decimal("0.02"),
    ) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        # the order flow's tolerances ([flows.orders]): the variances accepted are the ones it would find
        self.line_tax_tolerance = line_tax_tolerance
        self.tax_tolerance = tax_tolerance

    # selection
    def select(self, conn: Connection, selection: Selection) -> list[ExceptionRow]:
        """The exceptions a selection covers, each once, in id order. Raises QueueError for an unknown id,
        reason or owner, or an empty selection."""
        if selection.reason is not None and selection.reason not in {str(r) for r in Reason}:
            raise QueueError(
                f"unknown reason {selection.reason!r}; see `trueup manual exceptions` for the codes"
            )
        if selection.owner is not None and selection.owner not in {str(o) for o in Owner}:
            raise QueueError(f"unknown owner {selection.owner!r}; expected one of {', '.join(Owner)}")
        if not selection.idents and not selection.bulk:
            raise QueueError(
                "name the exceptions (ids like #12, or order ids) or give --reason/--owner/--since"
            )
        rows: dict[int, ExceptionRow] = {}
        missing = []
        for ident in selection.idents:
            row = find(conn, ident)
            if row is None:
                missing.append(ident)
            else:
                rows[row.id] = row
        if missing:
            raise QueueError(
                f"no exception {', '.join(repr(m) for m in missing)} (expected #id or an order id)"
            )
        if selection.bulk:
            for row in list_exceptions(
                conn, reason=selection.reason, owner=selection.owner, since=selection.since, limit=None
            ):
                rows.setdefault(row.id, row)
        return [rows[i] for i in sorted(rows)]

    @staticmethod
    def _check(actor: str, note: str) -> None:
        if not note.strip():
            raise QueueError("say why with --note (it is kept in the audit trail)")
        if not actor.strip():
            raise QueueError(
                "who is acting? give --actor or set TRUEUP_ACTOR (it is kept in the audit trail)"
            )

    def _each(
        self,
        action: Action,
        selection: Selection,
        actor: str,
        note: str,
        prepare: Callable[[Connection, ExceptionRow, datetime], ActionResult | Prepared] | None = None,
    ) -> list[ActionResult]:
        """Apply `action` to each selected exception in one transaction. `prepare` does an action's own work
        first: it returns a failed result to skip the row, or what to audit (and a new payload) to go on."""
        self._check(actor, note)
        now = self.clock.now()
        results: list[ActionResult] = []
        with self.store.tx() as conn:
            for row in self.select(conn, selection):
                if action not in actions_for(row.reason) and action not in _ALWAYS:
                    results.append(self._refused(action, row, f"{action} does not apply to {row.reason}"))
                    continue
                prepared = prepare(conn, row, now) if prepare else Prepared()
                if isinstance(prepared, ActionResult):
                    results.append(prepared)
                    continue
                ok = act(conn, str(action), row, actor=actor, note=note, now=now, detail=prepared.detail,
                         payload=prepared.payload)  # fmt: skip
                error = "" if ok else f"status {row.status} does not allow {action}"
                results.append(ActionResult(str(action), row.id, row.key, ok, error, prepared.detail))
        return results

    @staticmethod
    def _refused(action: Action, row: ExceptionRow, error: str) -> ActionResult:
        return ActionResult(str(action), row.id, row.key, False, error)

    # the plain actions
    def retry(self, selection: Selection, *, actor: str, note: str) -> list[ActionResult]:
        return self._each(Action.RETRY, selection, actor, note)

    def resolve(self, selection: Selection, *, actor: str, note: str) -> list[ActionResult]:
        return self._each(Action.RESOLVE, selection, actor, note)

    def ignore(self, selection: Selection, *, actor: str, note: str) -> list[ActionResult]:
        return self._each(Action.IGNORE, selection, actor, note)

    # accept and post
    def accept_and_post(self, selection: Selection, *, actor: str, note: str) -> list[ActionResult]:
        """Accept each order's tax or totals variance as the storefront has it and post it: the variances go
        to finance's reconciliation list, and the order is retried with exactly those figures let through."""

        def accept(conn: Connection, row: ExceptionRow, now: datetime) -> ActionResult | Prepared:
            order = self._order(conn, row)
            if isinstance(order, str):
                return self._refused(Action.ACCEPT_AND_POST, row, order)
            found = variance_rows(order, self.line_tax_tolerance, self.tax_tolerance)
            if not found:
                return self._refused(
                    Action.ACCEPT_AND_POST, row, "the order has no tax or totals variance now"
                )
            rows = [
                {**v, "work_id": row.id, "kind": row.kind, "key": row.key, "actor": actor, "note": note,
                 "accepted_at": now}
                for v in found
            ]  # fmt: skip
            queue_store.add_variances(conn, rows)
            shown = ("reason", "field", "expected", "actual", "variance", "currency")
            return Prepared({"variances": [{k: v[k] for k in shown} for v in found]})

        return self._each(Action.ACCEPT_AND_POST, selection, actor, note, accept)

    def variances(
        self, *, status: str = "open", since: datetime | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Finance's reconciliation list (see trueup.store.queue.variances)."""
        with self.store.tx() as conn:
            return queue_store.variances(conn, status=status, since=since, limit=limit)

    def reconcile(self, ids: Sequence[int], *, actor: str, note: str) -> int:
        """Finance marks accepted variances as reconciled (journal posted); audited."""
        from trueup.store.state import add_audit

        self._check(actor, note)
        now = self.clock.now()
        with self.store.tx() as conn:
            done = queue_store.reconcile(conn, ids, actor=actor, now=now)
            add_audit(conn, at=now, actor=actor, action="reconcile", kind="variance",
                      key=",".join(str(i) for i in ids)[:128], note=note, detail={"count": done})  # fmt: skip
        return done

    # map and retry
    def map_and_retry(
        self, ident: str, target: str, *, actor: str, note: str, source: str | None = None
    ) -> list[ActionResult]:
        """Map the exception's storefront SKU (or shipping method) to `target` (an ERP SKU, or a carrier as
        "CARRIER/SERVICE"), and retry every open order exception held for that missing mapping (an unknown
        or inactive SKU, an unmapped carrier) that used it. The first result is the named exception's; the
        others are those it unblocked."""
        self._check(actor, note)
        target = target.strip()
        now = self.clock.now()
        with self.store.tx() as conn:
            (row,) = self.select(conn, Selection((ident,)))
            kind = MAPS.get(Reason(row.reason)) if row.reason in {str(r) for r in MAPS} else None
            if kind is None or row.kind != ORDER_KIND:
                raise QueueError(
                    f"map_and_retry applies to an order's {', '.join(MAPS)}; #{row.id} is {row.reason}"
                )
            if kind == "carrier" and "/" not in target:
                raise QueueError(
                    f"a carrier mapping is written CARRIER/SERVICE, e.g. DPD/NEXTDAY (got {target!r})"
                )
            if not target:
                raise QueueError("say what it maps to in the ERP (an ERP SKU, or CARRIER/SERVICE)")
            order = self._order(conn, row)
            if isinstance(order, str):
                raise QueueError(order)
            source = source or self._source(kind, row, order)
            try:
                queue_store.add_mapping(conn, kind, source, target, actor=actor, note=note, now=now)
            except ValueError as exc:
                raise QueueError(str(exc)) from None
            detail = {"mapping": {"kind": kind, "source": source, "target": target}}
            results = []
            for other in list_exceptions(conn, limit=None):
                # only exceptions held for a missing mapping of this kind: a mapping fixes nothing else, and
                # another team's exception (a tax variance on an order with the same method) is not touched
                held_for = MAPS.get(Reason(other.reason)) if other.reason in {str(r) for r in MAPS} else None
                if other.kind != ORDER_KIND or held_for != kind or not self._uses(conn, other, kind, source):
                    continue
                why = note if other.id == row.id else f"{note} (unblocked by mapping {kind} {source!r})"
                ok = act(
                    conn, str(Action.MAP_AND_RETRY), other, actor=actor, note=why, now=now, detail=detail
                )
                results.append(ActionResult(str(Action.MAP_AND_RETRY), other.id, other.key, ok, "", detail))
            results.sort(key=lambda r: r.id != row.id)
        return results

    @staticmethod
    def _source(kind: str, row: ExceptionRow, order: Order) -> str:
        if kind == "carrier":
            return order.shipping.method
        for line in booked_lines(order):
            if line.field == row.field:
                return line.sku
        raise QueueError(
            f"#{row.id}: cannot tell which SKU is unknown (field {row.field!r}); give --source SKU"
        )

    def _uses(self, conn: Connection, row: ExceptionRow, kind: str, source: str) -> bool:
        order = self._order(conn, row)
        if isinstance(order, str):
            return False
        if kind == "carrier":
            return order.shipping.method == source
        return any(line.sku == source for line in booked_lines(order))

    # edit and post
    def edit_and_post(
        self, ident: str, changes: Mapping[str, str], *, actor: str, note: str
    ) -> list[ActionResult]:
        """Correct the address trueup holds for an order (`shipping_address.postcode` = "SW1A 1AA"; a street
        is given as lines joined by "|"), then post it. The audit names the fields changed, not the values
        (personal data). A later change of the order in the storefront replaces the edit."""
        if not changes:
            raise QueueError("say what to change, e.g. --set shipping_address.postcode='SW1A 1AA'")
        for path in changes:
            part, _, name = path.partition(".")
            if part not in ("shipping_address", "billing_address") or name not in _ADDRESS_FIELDS:
                raise QueueError(
                    f"cannot edit {path!r}: expected shipping_address.FIELD or billing_address.FIELD, "
                    f"FIELD one of {', '.join(_ADDRESS_FIELDS)}"
                )

        def edit(conn: Connection, row: ExceptionRow, now: datetime) -> ActionResult | Prepared:
            if row.kind != ORDER_KIND:
                return self._refused(
                    Action.EDIT_AND_POST, row, f"edit_and_post applies to orders, not {row.kind}"
                )
            stored = conn.execute(select(work.c.payload).where(work.c.id == row.id)).scalar_one()
            try:
                data = json.loads(open_payload(stored, self.store.cipher))
                for path, value in changes.items():
                    part, _, name = path.partition(".")
                    if data.get(part) is None:  # the shipping address defaults to the billing one
                        data[part] = dict(data["billing_address"])
                    data[part][name] = value.split("|") if name == "street" else value
                text = Order.model_validate(data).model_dump_json()
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                why = (
                    f"{exc.error_count()} errors" if isinstance(exc, ValidationError) else type(exc).__name__
                )
                return self._refused(Action.EDIT_AND_POST, row, f"the edited order is not valid ({why})")
            sealed = self.store.cipher.seal(text) if self.store.cipher else text
            return Prepared({"changed": sorted(changes)}, sealed)

        return self._each(Action.EDIT_AND_POST, Selection((ident,)), actor, note, edit)

    def _order(self, conn: Connection, row: ExceptionRow) -> Order | str:
        stored = conn.execute(select(work.c.payload).where(work.c.id == row.id)).scalar_one()
        try:
            return Order.model_validate_json(open_payload(stored, self.store.cipher))
        except ValidationError:
            return f"#{row.id}'s stored order cannot be read (or was purged)"
