"""Paid storefront orders become ERP sales orders, exactly once.

observe: page through orders updated since the cursor (minus an overlap) and put each in the ledger.
plan:    a pure function of the order, the ERP item map and the rules → post, wait, park or skip.
apply:   post to the ERP; the storefront order id is the idempotency key, and a job that may have reached
         the ERP before (a timeout, a crash) is looked up first.
record:  the runtime writes the outcome and the order ⇄ sales-order link in one transaction.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from trueup.errors import Fatal, Retriable, Skippable
from trueup.flows.acks import AckPolicy, Settling, acknowledge, sent
from trueup.model.exceptions import REASONS, Reason, Side, owner_of
from trueup.model.items import ErpItem, FieldLimits
from trueup.model.money import to_minor
from trueup.model.orders import ErpSalesOrder, Order, PaymentState
from trueup.model.queue import Accepted, OrderOverrides
from trueup.model.work import Done, Job, NewWork, Outcome, Park, Problem, Retry, Sent, Skip, Wait
from trueup.ports import Acknowledgements, Clock, ItemMap, OrderSink, OrderSource, QueueOverrides, SourceOrder
from trueup.rules.address import fit_address
from trueup.rules.fields import identifier_problem, quantity_problem, trim_text
from trueup.rules.lines import BookedLine, booked_lines
from trueup.rules.payment import payable_states
from trueup.rules.tax import check_tax
from trueup.security.pii import mask_field, mask_text

KIND = "order.post"
LANE = "orders"
LINK_KIND = "order"


@dataclass(frozen=True, slots=True)
class OrderRules:
    limits: FieldLimits
    carriers: Mapping[str, tuple[str, str]]
    sku_overrides: Mapping[str, str] = field(default_factory=dict)
    currencies: frozenset[str] = frozenset({"GBP", "EUR", "USD"})
    post_when: str = "captured"
    line_tax_tolerance: Decimal = Decimal("0.01")
    tax_tolerance: Decimal = Decimal("0.02")
    tax_mode: str = "storefront"


@dataclass(frozen=True, slots=True)
class Post:
    order: ErpSalesOrder
    notes: tuple[str, ...] = ()  # what was adjusted to fit the ERP (descriptive text trimmed)


@dataclass(frozen=True, slots=True)
class Hold:
    """Not yet: a precondition outside trueup (payment) is unmet."""

    problem: Problem


@dataclass(frozen=True, slots=True)
class Reject:
    """The order is wrong for the ERP; every problem found is listed, the first is the reason."""

    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class Drop:
    problem: Problem


Plan = Post | Hold | Reject | Drop

# When an order has several problems, the first in this order is the one it is filed under.
_PRIORITY = [
    Reason.MALFORMED_RECORD,
    Reason.INVALID_IDENTIFIER,
    Reason.INVALID_QUANTITY,
    Reason.CURRENCY_MISMATCH,
    Reason.UNKNOWN_SKU,
    Reason.INACTIVE_SKU,
    Reason.UNMAPPED_CARRIER,
    Reason.ADDRESS_INVALID,
    Reason.INVALID_POSTCODE,
    Reason.ADDRESS_TOO_LONG,
    Reason.TAX_VARIANCE,
    Reason.TOTALS_MISMATCH,
]


def _problem(order: Order, reason: Reason, message: str, field_: str = "") -> Problem:
    return Problem(
        reason=reason,
        owner=owner_of(reason),
        message=f"Order {order.order_id}: {message}.",
        field=field_,
        impact_minor=to_minor(order.grand_total),
        currency=order.currency,
    )


def erp_sku(sku: str, rules: OrderRules) -> str:
    return rules.sku_overrides.get(sku, sku)


def plan_order(
    order: Order,
    items: Mapping[str, ErpItem],
    rules: OrderRules,
    booked: Sequence[BookedLine] | None = None,
    accepted: Collection[Accepted] = (),
) -> Plan:
    """Decide what to do with one order. Pure: no I/O, no clock. `booked` may pass in the order's booked
    lines when the caller has already worked them out. `accepted` lets through the tax and totals variances
    a person accepted for this order (exactly those figures; see `trueup.queue.actions.accept_and_post`)."""
    if order.payment.state == PaymentState.CANCELLED:
        return Drop(_problem(order, Reason.ORDER_CANCELLED, f"cancelled in the storefront ({order.status})"))

    problems: list[Problem] = []
    notes: list[str] = []
    # Identifiers are parked, never cut: a cut key names another record. An empty e-mail is allowed.
    for value, limit, label, where in (
        (order.order_id, rules.limits.order_id, "order id", "order_id"),
        (order.customer.email or "-", rules.limits.email, "customer e-mail", "customer.email"),
    ):
        if why := identifier_problem(value, limit):
            problems.append(_problem(order, Reason.INVALID_IDENTIFIER, f"{label} {why}", where))
    if order.currency not in rules.currencies:
        problems.append(
            _problem(
                order,
                Reason.CURRENCY_MISMATCH,
                f"currency {order.currency!r} is not booked by the ERP",
                "currency",
            )
        )

    # Each line as plain data, validated with the sales order in one call (as the Magento mapping does).
    erp_lines: list[dict[str, Any]] = []
    for line in booked if booked is not None else booked_lines(order):
        sku = erp_sku(line.sku, rules)
        where = line.field.removesuffix(".sku")
        if why := quantity_problem(line.qty):
            problems.append(_problem(order, Reason.INVALID_QUANTITY, f"{where}.qty: {why}", f"{where}.qty"))
            continue  # parked anyway; and a unit price from a qty of 1E-999999 would not fit a Decimal
        if len(sku) > rules.limits.sku:
            why = f"is {len(sku)} characters long; the ERP's field holds {rules.limits.sku}"
            problems.append(
                _problem(order, Reason.INVALID_IDENTIFIER, f"SKU {sku[:40]!r}... {why}", line.field)
            )
            continue
        item = items.get(sku)
        if item is None:
            problems.append(
                _problem(
                    order,
                    Reason.UNKNOWN_SKU,
                    f"SKU {sku!r} ({line.field}) is not in the ERP item master",
                    line.field,
                )
            )
            continue
        if not item.active:
            problems.append(
                _problem(
                    order,
                    Reason.INACTIVE_SKU,
                    f"SKU {sku!r} ({line.field}) is inactive in the ERP (item {item.erp_item_id})",
                    line.field,
                )
            )
            continue
        taxable = line.net - line.discount
        description, trimmed = trim_text(line.name, rules.limits.description)
        if trimmed:
            notes.append(f"{line.field.removesuffix('.sku')}.name {trimmed}")
        erp_lines.append(
            {
                "line_no": len(erp_lines) + 1,
                "sku": sku,
                "erp_item_id": item.erp_item_id,
                "description": description,
                "qty": line.qty,
                "unit_price": (line.net / line.qty).quantize(Decimal("0.0001")) if line.qty else line.net,
                "net": line.net,
                "discount": line.discount,
                "tax": line.tax,
                "tax_rate": line.tax_rate,
                "gross": taxable + line.tax,
                "storefront_line_id": line.line_id,
            }
        )

    carrier = rules.carriers.get(order.shipping.method)
    if carrier is None:
        problems.append(
            _problem(
                order,
                Reason.UNMAPPED_CARRIER,
                f"shipping method {order.shipping.method!r} has no entry in [mappings.carriers]",
                "shipping.method",
            )
        )

    bill_to, bill_problems = fit_address(order.billing_address, rules.limits, "billing_address")
    ship_source = order.shipping_address or order.billing_address
    if ship_source is order.billing_address or ship_source == order.billing_address:
        # most orders ship to the billing address: fitted once, its problems named for both fields
        ship_to = bill_to
        ship_problems = [
            replace(ap, field=f"shipping_{ap.field.removeprefix('billing_')}") for ap in bill_problems
        ]
    else:
        ship_to, ship_problems = fit_address(ship_source, rules.limits, "shipping_address")
    address_reason = {
        "too_long": Reason.ADDRESS_TOO_LONG,
        "invalid": Reason.ADDRESS_INVALID,
        "postcode": Reason.INVALID_POSTCODE,
    }
    for ap in (*ship_problems, *bill_problems):
        # the text is shown in lists, alerts and logs: a personal value is quoted masked (docs/security.md)
        shown = mask_field(ap.field, ap.value, ship_source.country)
        problems.append(
            _problem(order, address_reason[ap.kind], f"{ap.field}: {ap.message} ({shown!r})", ap.field)
        )

    for tp in check_tax(order, rules.line_tax_tolerance, rules.tax_tolerance):
        if (tp.kind, tp.field, str(tp.actual)) in accepted:
            continue  # accepted by a person for this order; on finance's reconciliation list
        reason = Reason.TAX_VARIANCE if tp.kind == "tax_variance" else Reason.TOTALS_MISMATCH
        problems.append(
            _problem(order, reason, f"{tp.message} (variance {tp.variance} {order.currency})", tp.field)
        )

    if problems:
        problems.sort(key=lambda p: _PRIORITY.index(p.reason))
        return Reject(tuple(problems))

    if order.payment.state not in payable_states(rules.post_when):
        return Hold(
            _problem(
                order,
                Reason.PAYMENT_PENDING,
                f"payment is {order.payment.state} ({order.payment.method}); posts once captured",
            )
        )

    assert carrier is not None and bill_to is not None and ship_to is not None
    shipping_net = order.shipping.amount - order.shipping.discount
    return Post(
        ErpSalesOrder.model_validate(
            {
                "external_id": order.order_id,
                "order_date": order.created_at,
                "currency": order.currency,
                "customer_email": order.customer.email,
                "customer_name": f"{order.customer.first_name} {order.customer.last_name}".strip()
                or bill_to.name,
                "bill_to": bill_to,
                "ship_to": ship_to,
                "carrier": carrier[0],
                "service": carrier[1],
                "lines": tuple(erp_lines),
                "shipping_net": shipping_net,
                "shipping_tax": order.shipping.tax,
                "discount_total": sum((ln["discount"] for ln in erp_lines), Decimal(0)),
                "tax_total": order.tax_total,
                "grand_total": order.grand_total,
                "payment_method": order.payment.method,
                "payment_reference": order.payment.reference,
                "tax_mode": rules.tax_mode,
            }
        ),
        tuple(notes),
    )


def with_overrides(rules: OrderRules, overrides: OrderOverrides) -> OrderRules:
    """The rules with the queue's mappings merged under the configured ones (the config wins)."""
    if not (overrides.carriers or overrides.skus):
        return rules
    return replace(
        rules,
        carriers={**overrides.carriers, **rules.carriers},
        sku_overrides={**overrides.skus, **rules.sku_overrides},
    )


def merge_problems(problems: Sequence[Problem]) -> Problem:
    """One exception per order, filed under its first problem, with every problem in the text."""
    first = problems[0]
    message = " ".join(p.message for p in problems)
    return Problem.of(
        first.reason, message, field=first.field, impact_minor=first.impact_minor, currency=first.currency
    )


def observed_work(src: SourceOrder, storefront: str) -> NewWork:
    """The ledger row for one observed order. An unreadable order is parked at once, raw payload kept."""
    version = src.ledger_version  # with the entity id: the ledger parks a second record under one key
    if src.order is None:
        problem = Problem.of(
            Reason.MALFORMED_RECORD, f"Order {src.key}: could not be read ({src.error}).", system=storefront
        )
        return NewWork(KIND, src.key, LANE, f"order:{src.key}", src.raw, version, parked=problem)
    payload = src.canonical or src.order.model_dump_json()
    return NewWork(KIND, src.key, LANE, f"order:{src.key}", payload, version)


class OrderFlow:
    """Wires the order flow to its ports. Holds no state between batches."""

    name = "orders"
    lane = LANE

    def __init__(
        self,
        source: OrderSource,
        sink: OrderSink,
        item_map: ItemMap,
        rules: OrderRules,
        clock: Clock,
        *,
        payment_recheck: timedelta = timedelta(minutes=15),
        overlap: timedelta = timedelta(minutes=10),
        start_from: datetime | None = None,
        require_start_from: bool = False,
        ack_policy: AckPolicy = AckPolicy(),
        overrides: QueueOverrides | None = None,
    ) -> None:
        self.source = source
        self.sink = sink
        self.item_map = item_map
        self.rules = rules
        self.clock = clock
        self.payment_recheck = payment_recheck
        self.overlap = overlap
        # The go-live moment: orders placed before it are never posted (they belong to whatever posted
        # orders before trueup). A real store must name it, or the first pass would post its whole history.
        self.start_from = start_from
        self.require_start_from = require_start_from
        self.ack_policy = ack_policy
        self.overrides = overrides  # mappings and accepted variances from the exception queue
        # A batch ERP (files) only takes an order when its batch runs: posting it makes it `sent`.
        self.acks = sink if isinstance(sink, Acknowledgements) else None
        # Orders just observed, by key@version, so that a worker in this process need not parse back what
        # it has just stored. Bounded: the engine keeps observation only a little ahead of posting.
        self._fresh: OrderedDict[str, Order] = OrderedDict()
        self.fresh_limit = 4096

    async def observe(
        self, cursor: str | None, started: datetime
    ) -> AsyncIterator[tuple[list[NewWork], str]]:
        """Pages of ledger rows, each with the cursor value that covers it. The window never ends after
        `started`, so nothing updated during the run is skipped by the next one; it never starts before
        the go-live moment, and an order placed before it is left out even when it was updated since."""
        if cursor is None and self.start_from is None and self.require_start_from:
            raise Fatal(
                f"{self.source.name}: [flows.orders] start_from is not set, and this is the first pass: "
                "trueup would post every order the store has ever taken. Resolution: set start_from to the "
                "go-live moment (e.g. start_from = 2026-12-01T00:00:00, UTC); to post older orders on "
                "purpose, run `trueup sync orders --since <date-time>`."
            )
        floor = self.start_from or datetime(2000, 1, 1)
        since = max(datetime.fromisoformat(cursor) - self.overlap, floor) if cursor else floor
        async for page in self.source.orders_updated(since, started):
            current = [o for o in page.orders if o.order is None or o.order.created_at >= floor]
            for o in current:
                if o.order is not None:
                    self._fresh[f"{o.key}@{o.ledger_version}"] = o.order
            while len(self._fresh) > self.fresh_limit:
                self._fresh.popitem(last=False)
            yield [observed_work(o, self.source.name) for o in current], page.high_water

    async def handle(self, jobs: Sequence[Job]) -> list[Outcome]:
        orders: list[tuple[Job, Order]] = []
        outcomes: list[Outcome] = []
        for job in jobs:
            try:
                fresh = self._fresh.pop(f"{job.key}@{job.source_version}", None)
                orders.append((job, fresh or Order.model_validate_json(job.payload)))
            except ValidationError as exc:
                problem = Problem.of(
                    Reason.MALFORMED_RECORD,
                    f"Order {job.key}: stored payload unreadable ({exc.error_count()} errors).",
                )
                outcomes.append(Park(job, problem))
        # A sent order is settled by the ERP's answer, not planned again: it is already in the ERP's hands.
        settling = [(job, order) for job, order in orders if job.sent_at is not None and self.acks]
        orders = [(job, order) for job, order in orders if job.sent_at is None or not self.acks]
        rules, accepted = self.rules, {}
        if self.overrides is not None and orders:
            found = await self.overrides.for_orders([job.key for job, _ in orders])
            rules, accepted = with_overrides(self.rules, found), dict(found.accepted)
        booked = [booked_lines(order) for _, order in orders]
        skus = {erp_sku(line.sku, rules) for lines in booked for line in lines}
        items = await self.item_map.items_for(skus)
        none: frozenset[Accepted] = frozenset()
        applied = await asyncio.gather(
            *(self._acknowledge(job, order) for job, order in settling),
            *(
                self._apply(job, plan_order(order, items, rules, lines, accepted.get(job.key, none)))
                for (job, order), lines in zip(orders, booked, strict=True)
            ),
        )
        return outcomes + list(applied)

    async def _acknowledge(self, job: Job, order: Order) -> Outcome:
        assert self.acks is not None
        what = Settling(job, f"Order {job.key}", LINK_KIND, self.source.name, self.sink.name,
                        to_minor(order.grand_total), order.currency)  # fmt: skip
        return await acknowledge(what, self.acks.sales_order_ack(order.order_id), self.clock, self.ack_policy)

    async def _apply(self, job: Job, plan: Plan) -> Outcome:
        match plan:
            case Reject(problems):
                return Park(job, self._at_fault(merge_problems(problems)))
            case Hold(problem):
                return Wait(job, self._at_fault(problem), self.clock.now() + self.payment_recheck)
            case Drop(problem):
                return Skip(job, self._at_fault(problem))
            case Post(erp_order, notes):
                outcome = await self._post(job, erp_order)
                if notes and isinstance(outcome, Done | Sent):
                    return replace(outcome, note=f"Order {job.key}: " + "; ".join(notes) + ".")
                return outcome
        raise AssertionError(plan)

    def _at_fault(self, problem: Problem) -> Problem:
        """Name the system at fault: this flow's storefront or ERP, or trueup's own mappings."""
        side = REASONS[problem.reason].at_fault
        names = {Side.STOREFRONT: self.source.name, Side.ERP: self.sink.name, Side.TRUEUP: "trueup"}
        return replace(problem, system=names[side])

    async def _post(self, job: Job, erp_order: ErpSalesOrder) -> Outcome:
        try:
            # A job claimed before may have reached the ERP without trueup hearing back (a timeout, a
            # crash): look first, so even an ERP that accepts duplicates never gets a second copy.
            ref = await self.sink.find_sales_order(erp_order.external_id) if job.attempts > 1 else None
            if ref is None:
                ref = await self.sink.post_sales_order(erp_order)
        except Retriable as exc:
            return Retry(job, mask_text(str(exc)), retry_after=exc.retry_after)
        except Skippable as exc:
            # an ERP's refusal may quote the customer's e-mail or phone back: masked like any log line
            problem = Problem(
                exc.reason,
                exc.owner,
                f"Order {job.key}: {mask_text(str(exc))}",
                exc.field,
                to_minor(erp_order.grand_total),
                erp_order.currency,
            )
            return Park(job, self._at_fault(problem))
        if self.acks is not None:
            return sent(job, ref, self.clock.now(), self.ack_policy)
        return Done(job, ref, LINK_KIND, storefront=self.source.name, erp=self.sink.name)
