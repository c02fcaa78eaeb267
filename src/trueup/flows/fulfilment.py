"""ERP despatches become storefront shipments with tracking, exactly once.

observe: page the ERP's despatches after its cursor (a key: a file name, a sequence); each despatch is a
         ledger row `despatch.ship` keyed `<erp>:<despatch_id>`, committed with the cursor.
plan:    a pure function of the despatch, the storefront order (its shippable lines, what is shipped, its
         shipments) and the carrier mapping → ship, link an existing shipment, or park.
apply:   ship through the `ShipmentSink`; Magento's ship is not idempotent, so the order's shipments are read
         first and one that already covers the despatch (made by hand, or by trueup before a crash: its
         comment names the despatch) is linked, its missing tracking added, never shipped twice.
record:  the runtime writes Done and the link (external_id = despatch key, erp_ref = shipment id) at once.

The lock is `despatch:<order id>`, not the order's own `order:<id>`: a waiting row holds back every later
row of its lock, so a despatch seen before its order would hold back the very post it waits for. Partial
despatches of one order still run one after another (same lock), and the order's post is awaited through
its link instead (`posted_orders`), re-checked when each pass starts (`wake_waiting`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import ValidationError

from trueup.errors import Retriable, Skippable
from trueup.flows.awaiting import park_source_rejections, split_by_order
from trueup.flows.short_ship import ShortShipments
from trueup.model.erp import Despatch
from trueup.model.exceptions import Reason
from trueup.model.shipments import Shipment, ShipmentItem, ShipmentRequest, ShippableOrder, Track
from trueup.model.work import Done, InputRejection, Job, NewWork, Outcome, Park, Problem, Retry, Wait
from trueup.ports import Clock, DespatchSource, ExceptionQueue, FulfilmentLedger, Invoicer, ShipmentSink

KIND = "despatch.ship"
LANE = "fulfilment"
LINK_KIND = "shipment"
LOCK_PREFIX = "despatch:"
# Magento carriers whose tracking it can look up online; any other carrier is recorded as "custom".
ONLINE_CARRIERS = frozenset({"ups", "usps", "fedex", "dhl"})


@dataclass(frozen=True, slots=True)
class FulfilmentRules:
    carriers: Mapping[str, tuple[str, str]]  # storefront shipping method -> (ERP carrier, service)
    sku_overrides: Mapping[str, str] = field(default_factory=dict)  # storefront SKU -> ERP SKU
    notify: bool = True
    source_code: str = ""  # MSI source to ship from; empty: the store's default


@dataclass(frozen=True, slots=True)
class Ship:
    request: ShipmentRequest


@dataclass(frozen=True, slots=True)
class Link:
    shipment_id: str
    missing: tuple[Track, ...]  # the despatch's tracking numbers the shipment lacks
    manual: bool  # made by a person (False: trueup's own, from an attempt cut short)


@dataclass(frozen=True, slots=True)
class Unmatched:
    message: str


Plan = Ship | Link | Unmatched


def marker(key: str) -> str:
    """What trueup writes in a shipment's comment so that the shipment is known again after a crash."""
    return f"[{key}]"


def carrier_track(carrier: str, service: str, rules: FulfilmentRules) -> tuple[str, str] | None:
    """(carrier_code, title) for the storefront, by `[mappings.carriers]` read in reverse: the storefront
    method mapped to this carrier and service, else to this carrier with any service. The method's carrier
    part (before "_") is the storefront carrier; it is kept only for carriers Magento tracks online, any
    other is "custom", titled with the ERP's carrier and service. None: the carrier is not mapped."""
    pairs = sorted(rules.carriers.items())
    method = next((m for m, (c, s) in pairs if c == carrier and s == service), None)
    method = method or next((m for m, (c, _) in pairs if c == carrier), None)
    if method is None:
        return None
    code = method.partition("_")[0].lower()
    return (code if code in ONLINE_CARRIERS else "custom"), f"{carrier} {service}".strip()


def _wanted(despatch: Despatch, rules: FulfilmentRules) -> Counter[str]:
    """Despatched quantity by storefront SKU (the ERP names its own SKUs: overrides are read in reverse)."""
    storefront_sku = {erp: sku for sku, erp in rules.sku_overrides.items()}
    wanted: Counter[str] = Counter()
    for line in despatch.lines:
        wanted[storefront_sku.get(line.sku, line.sku)] += line.qty
    return wanted


def _covers(shipment: Shipment, order: ShippableOrder, wanted: Counter[str]) -> bool:
    sku_of = {line.line_id: line.sku for line in order.lines}
    has: Counter[str] = Counter()
    for item in shipment.items:
        has[sku_of.get(item.line_id, "")] += item.qty
    return all(has[sku] >= qty for sku, qty in wanted.items())


def plan_shipment(
    key: str,
    despatch: Despatch,
    order: ShippableOrder,
    linked: Mapping[str, str],
    tracks: tuple[Track, ...],
    rules: FulfilmentRules,
) -> Plan:
    """Decide what one despatch does to the storefront. Pure. `linked`: shipment id → the despatch key it is
    linked to already (such a shipment belongs to another despatch)."""
    wanted = _wanted(despatch, rules)
    if not wanted or min(wanted.values()) <= 0:
        return Unmatched("the despatch has no lines with a positive quantity")
    free = [s for s in order.shipments if linked.get(s.shipment_id, key) == key]
    numbers = {t.number for t in tracks}

    def link(shipment: Shipment, manual: bool) -> Link:
        have = {t.number for t in shipment.tracks}
        return Link(shipment.shipment_id, tuple(t for t in tracks if t.number not in have), manual)

    for shipment in free:
        if any(marker(key) in comment for comment in shipment.comments):
            return link(shipment, manual=False)
    covering = [s for s in free if _covers(s, order, wanted)]
    covering.sort(key=lambda s: not numbers & {t.number for t in s.tracks})  # same tracking first
    if covering:
        return link(covering[0], manual=True)

    items: list[ShipmentItem] = []
    short: list[str] = []
    for sku, qty in sorted(wanted.items()):
        for line in order.lines:
            if line.sku == sku and qty > 0 and line.left > 0:
                take = min(qty, line.left)
                items.append(ShipmentItem(line_id=line.line_id, qty=take))
                qty -= take
        if qty > 0:
            left = sum(line.left for line in order.lines if line.sku == sku)
            short.append(f"{qty} more of SKU {sku!r} than the order has left to ship ({left})")
    if short or not items:
        what = "; ".join(short) or "no lines"
        return Unmatched(f"the despatch ships {what}, and no unlinked shipment covers it")
    when = despatch.despatched_at.isoformat(timespec="seconds")
    comment = f"Despatched {when} by the ERP, despatch {despatch.despatch_id} {marker(key)}"
    request = ShipmentRequest(
        entity_id=order.entity_id,
        items=tuple(items),
        tracks=tracks,
        comment=comment,
        notify=rules.notify,
        source_code=rules.source_code,
    )
    return Ship(request)


def observed_work(despatch: Despatch, erp: str) -> NewWork:
    key = f"{erp}:{despatch.despatch_id}"
    lock = f"{LOCK_PREFIX}{despatch.order_id}"
    return NewWork(KIND, key[:128], LANE, lock[:160], despatch.model_dump_json(), "1")


class FulfilmentFlow:
    """Wires the fulfilment flow to its ports. Holds no state between batches."""

    name = "despatches"
    lane = LANE

    def __init__(
        self,
        source: DespatchSource,
        sink: ShipmentSink,
        ledger: FulfilmentLedger,
        rules: FulfilmentRules,
        clock: Clock,
        *,
        order_recheck: timedelta = timedelta(minutes=5),
        exceptions: ExceptionQueue | None = None,
        invoicer: Invoicer | None = None,
        short: ShortShipments | None = None,
    ) -> None:
        self.short = short or ShortShipments(exceptions, source=source.name)  # closed short by the ERP
        self.invoicer = invoicer  # invoice on despatch (R-FIN-4), when configured
        self.source = source
        self.sink = sink
        self.ledger = ledger
        self.rules = rules
        self.clock = clock
        self.order_recheck = order_recheck
        self.exceptions = exceptions

    async def observe(
        self, cursor: str | None, started: datetime
    ) -> AsyncIterator[tuple[list[NewWork], str]]:
        await self.ledger.wake_waiting()
        async for page in self.source.despatches_since(cursor):
            yield [observed_work(d, self.source.name) for d in page.despatches], page.cursor
        await park_source_rejections(self.source, self.exceptions)

    async def handle(self, jobs: Sequence[Job]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        parsed: list[tuple[Job, Despatch]] = []
        for job in jobs:
            try:
                parsed.append((job, Despatch.model_validate_json(job.payload)))
            except ValidationError as exc:
                message = f"Despatch {job.key}: stored payload unreadable ({exc.error_count()} errors)."
                outcomes.append(
                    Park(job, Problem.of(Reason.MALFORMED_RECORD, message, system=self.source.name))
                )
        ready, waits = await split_by_order(self.ledger, parsed, lambda d: d.order_id, self._awaiting_order)
        outcomes += waits
        outcomes += await asyncio.gather(*(self._ship(job, despatch) for job, despatch, _ in ready))
        return outcomes

    def _awaiting_order(self, job: Job, despatch: Despatch) -> Wait:
        problem = Problem.of(
            Reason.AWAITING_ORDER,
            f"Despatch {despatch.despatch_id}: order {despatch.order_id} is not posted to the ERP yet "
            "as far as trueup knows; the despatch ships once it is.",
            system="trueup",
        )
        return Wait(job, problem, self.clock.now() + self.order_recheck)

    def _park(self, job: Job, reason: Reason, message: str, order: ShippableOrder | None) -> Park:
        system = {Reason.DESPATCH_UNMATCHED: self.source.name, Reason.UNMAPPED_DESPATCH_CARRIER: "trueup"}
        problem = Problem.of(
            reason,
            message,
            field="carrier" if reason == Reason.UNMAPPED_DESPATCH_CARRIER else "lines",
            impact_minor=order.grand_total_minor if order else 0,
            currency=order.currency if order else None,
            system=system.get(reason, self.sink.name),
        )
        return Park(job, problem)

    async def _ship(self, job: Job, despatch: Despatch) -> Outcome:
        what = f"Despatch {despatch.despatch_id} of order {despatch.order_id}"
        try:
            order = await self.sink.shippable_order(despatch.order_id)
            if order is None:
                message = f"{what}: the storefront has no order {despatch.order_id!r}."
                return self._park(job, Reason.DESPATCH_UNMATCHED, message, None)
            track = carrier_track(despatch.carrier, despatch.service, self.rules)
            if track is None:
                message = (
                    f"{what}: the ERP's carrier {despatch.carrier!r} (service {despatch.service!r}) has no "
                    "entry in [mappings.carriers]."
                )
                return self._park(job, Reason.UNMAPPED_DESPATCH_CARRIER, message, order)
            tracks = tuple(
                Track(number=n, carrier_code=track[0], title=track[1]) for n in despatch.tracking_numbers
            )
            linked = await self.ledger.linked_shipments(s.shipment_id for s in order.shipments)
            plan = plan_shipment(job.key, despatch, order, linked, tracks, self.rules)
            if isinstance(plan, Ship):
                try:
                    shipment_id = await self.sink.create_shipment(plan.request)
                except Skippable as exc:
                    # Magento's 400 when nothing is left: someone shipped meanwhile. Look again, never retry.
                    order = await self.sink.shippable_order(despatch.order_id) or order
                    linked = await self.ledger.linked_shipments(s.shipment_id for s in order.shipments)
                    plan = plan_shipment(job.key, despatch, order, linked, tracks, self.rules)
                    if not isinstance(plan, Link):
                        return self._park(job, exc.reason, f"{what}: {exc.args[0]}", order)
                else:
                    when = despatch.despatched_at.isoformat(timespec="seconds")
                    note = f"{what}, despatched {when}: shipment {shipment_id} created."
                    note += await self._invoice(despatch)
                    note += await self.short.settle(job.key, despatch, order, plan.request.items)
                    return self._done(job, shipment_id, note)
            if isinstance(plan, Unmatched):
                return self._park(job, Reason.DESPATCH_UNMATCHED, f"{what}: {plan.message}.", order)
            for missing in plan.missing:
                await self.sink.add_track(order.entity_id, plan.shipment_id, missing)
            added = ", ".join(t.number for t in plan.missing) or "none missing"
            kind = "Linked manual shipment" if plan.manual else "Linked trueup's earlier shipment"
            when = despatch.despatched_at.isoformat(timespec="seconds")
            note = f"{kind} {plan.shipment_id} to {what}, despatched {when}; tracking added: {added}."
            note += await self._invoice(despatch) + await self.short.settle(job.key, despatch, order, ())
            return self._done(job, plan.shipment_id, note)
        except Retriable as exc:
            return Retry(job, str(exc), retry_after=exc.retry_after)
        except Skippable as exc:
            return self._park(job, exc.reason, f"{what}: {exc.args[0]}", None)

    async def _invoice(self, despatch: Despatch) -> str:
        """Invoice on despatch: what the order has shipped and not invoiced. A refusal does not undo the
        shipment: it is an exception of its own (finance). Retriable errors propagate (the despatch is
        retried, links its shipment, and invoices what is still not invoiced)."""
        if self.invoicer is None:
            return ""
        try:
            invoice = await self.invoicer.invoice_shipped(despatch.order_id)
        except Skippable as exc:
            if self.exceptions is not None:
                message = f"Order {despatch.order_id}: {exc.args[0]} Resolution: invoice it by hand."
                rejection = InputRejection(
                    source=self.invoicer.name, key=f"invoice:{despatch.despatch_id}", message=message,
                    reason=exc.reason,
                )  # fmt: skip
                await self.exceptions.park_rejections([rejection])
            return " Invoice refused (an exception for finance)."
        return f" Invoice {invoice} captured." if invoice else " Nothing left to invoice."

    def _done(self, job: Job, shipment_id: str, note: str) -> Done:
        return Done(job, shipment_id, LINK_KIND, storefront=self.sink.name, erp=self.source.name, note=note)
