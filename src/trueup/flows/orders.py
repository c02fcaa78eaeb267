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
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import ValidationError

from trueup.errors import Retriable, Skippable
from trueup.model.exceptions import REASONS, Reason, Side, owner_of
from trueup.model.items import ErpItem, FieldLimits
from trueup.model.money import to_minor
from trueup.model.orders import ErpOrderLine, ErpSalesOrder, Order, PaymentState
from trueup.model.work import Done, Job, NewWork, Outcome, Park, Problem, Retry, Skip, Wait
from trueup.ports import Clock, ItemMap, OrderSink, OrderSource, SourceOrder
from trueup.rules.address import fit_address
from trueup.rules.lines import BookedLine, booked_lines
from trueup.rules.tax import check_tax

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
    order: Order, items: Mapping[str, ErpItem], rules: OrderRules, booked: Sequence[BookedLine] | None = None
) -> Plan:
    """Decide what to do with one order. Pure: no I/O, no clock. `booked` may pass in the order's booked
    lines when the caller has already worked them out."""
    if order.payment.state == PaymentState.CANCELLED:
        return Drop(_problem(order, Reason.ORDER_CANCELLED, f"cancelled in the storefront ({order.status})"))

    problems: list[Problem] = []
    if order.currency not in rules.currencies:
        problems.append(
            _problem(
                order,
                Reason.CURRENCY_MISMATCH,
                f"currency {order.currency!r} is not booked by the ERP",
                "currency",
            )
        )

    erp_lines: list[ErpOrderLine] = []
    for line in booked if booked is not None else booked_lines(order):
        sku = erp_sku(line.sku, rules)
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
        erp_lines.append(
            ErpOrderLine(
                line_no=len(erp_lines) + 1,
                sku=sku,
                erp_item_id=item.erp_item_id,
                description=line.name,
                qty=line.qty,
                unit_price=(line.net / line.qty).quantize(Decimal("0.0001")) if line.qty else line.net,
                net=line.net,
                discount=line.discount,
                tax=line.tax,
                tax_rate=line.tax_rate,
                gross=taxable + line.tax,
                storefront_line_id=line.line_id,
            )
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
    ship_to, ship_problems = fit_address(ship_source, rules.limits, "shipping_address")
    address_reason = {
        "too_long": Reason.ADDRESS_TOO_LONG,
        "invalid": Reason.ADDRESS_INVALID,
        "postcode": Reason.INVALID_POSTCODE,
    }
    for ap in (*ship_problems, *bill_problems):
        problems.append(
            _problem(order, address_reason[ap.kind], f"{ap.field}: {ap.message} ({ap.value!r})", ap.field)
        )

    for tp in check_tax(order, rules.line_tax_tolerance, rules.tax_tolerance):
        reason = Reason.TAX_VARIANCE if tp.kind == "tax_variance" else Reason.TOTALS_MISMATCH
        problems.append(
            _problem(order, reason, f"{tp.message} (variance {tp.variance} {order.currency})", tp.field)
        )

    if problems:
        problems.sort(key=lambda p: _PRIORITY.index(p.reason))
        return Reject(tuple(problems))

    payable = {PaymentState.CAPTURED} | (
        {PaymentState.AUTHORISED} if rules.post_when == "authorised" else set()
    )
    if order.payment.state not in payable:
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
        ErpSalesOrder(
            external_id=order.order_id,
            order_date=order.created_at,
            currency=order.currency,
            customer_email=order.customer.email,
            customer_name=f"{order.customer.first_name} {order.customer.last_name}".strip() or bill_to.name,
            bill_to=bill_to,
            ship_to=ship_to,
            carrier=carrier[0],
            service=carrier[1],
            lines=tuple(erp_lines),
            shipping_net=shipping_net,
            shipping_tax=order.shipping.tax,
            discount_total=sum((ln.discount for ln in erp_lines), Decimal(0)),
            tax_total=order.tax_total,
            grand_total=order.grand_total,
            payment_method=order.payment.method,
            payment_reference=order.payment.reference,
            tax_mode=rules.tax_mode,
        )
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
    return NewWork(KIND, src.key, LANE, f"order:{src.key}", src.order.model_dump_json(), version)


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
    ) -> None:
        self.source = source
        self.sink = sink
        self.item_map = item_map
        self.rules = rules
        self.clock = clock
        self.payment_recheck = payment_recheck
        self.overlap = overlap
        # Orders just observed, by key@version, so that a worker in this process need not parse back what
        # it has just stored. Bounded: the engine keeps observation only a little ahead of posting.
        self._fresh: OrderedDict[str, Order] = OrderedDict()
        self.fresh_limit = 4096

    async def observe(
        self, cursor: str | None, started: datetime
    ) -> AsyncIterator[tuple[list[NewWork], str]]:
        """Pages of ledger rows, each with the cursor value that covers it. The window never ends after
        `started`, so nothing updated during the run is skipped by the next one."""
        since = (datetime.fromisoformat(cursor) - self.overlap) if cursor else datetime(2000, 1, 1)
        async for page in self.source.orders_updated(since, started):
            for o in page.orders:
                if o.order is not None:
                    self._fresh[f"{o.key}@{o.ledger_version}"] = o.order
            while len(self._fresh) > self.fresh_limit:
                self._fresh.popitem(last=False)
            yield [observed_work(o, self.source.name) for o in page.orders], page.high_water

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
        booked = [booked_lines(order) for _, order in orders]
        skus = {erp_sku(line.sku, self.rules) for lines in booked for line in lines}
        items = await self.item_map.items_for(skus)
        applied = await asyncio.gather(
            *(
                self._apply(job, plan_order(order, items, self.rules, lines))
                for (job, order), lines in zip(orders, booked, strict=True)
            )
        )
        return outcomes + list(applied)

    async def _apply(self, job: Job, plan: Plan) -> Outcome:
        match plan:
            case Reject(problems):
                return Park(job, self._at_fault(merge_problems(problems)))
            case Hold(problem):
                return Wait(job, self._at_fault(problem), self.clock.now() + self.payment_recheck)
            case Drop(problem):
                return Skip(job, self._at_fault(problem))
            case Post(erp_order):
                return await self._post(job, erp_order)
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
            return Retry(job, str(exc), retry_after=exc.retry_after)
        except Skippable as exc:
            problem = Problem(
                exc.reason,
                exc.owner,
                f"Order {job.key}: {exc}",
                exc.field,
                to_minor(erp_order.grand_total),
                erp_order.currency,
            )
            return Park(job, self._at_fault(problem))
        return Done(job, ref, LINK_KIND, storefront=self.source.name, erp=self.sink.name)
