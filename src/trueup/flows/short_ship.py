"""Short shipments: a despatch that closes its order with units still unshipped (the ERP short-shipped).

A despatch says it closes its sales order (`Despatch.closes_order`, read by each connector from the ERP's
own signal, docs/fulfilment.md). Once its shipment exists (created or linked), what the storefront order
still has left to ship will never come: those units and their money go to e-commerce as one
`short_shipment` exception, or, with `[flows.despatches] short_ship = "credit_memo"`, are refunded offline
in the storefront.

plan:  `short_lines` is pure: the order's lines as read before shipping, less what this shipment ships.
apply: the exception is keyed `short:<despatch key>` (the queue takes a key once); the credit memo's comment
       carries the despatch's marker and is looked for before refunding, so a retry after a crash (memo
       made, despatch not yet recorded Done) never refunds twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from trueup.errors import Skippable
from trueup.model.erp import Despatch
from trueup.model.exceptions import REASONS, Reason
from trueup.model.shipments import ShipmentItem, ShippableOrder
from trueup.model.work import InputRejection
from trueup.ports import ExceptionQueue, OfflineRefunder

ShortShip = Literal["exception", "credit_memo"]


@dataclass(frozen=True, slots=True)
class ShortLine:
    line_id: str
    sku: str
    qty: int
    unit_minor: int

    @property
    def minor(self) -> int:
        return self.qty * self.unit_minor


def short_lines(order: ShippableOrder, shipping: Sequence[ShipmentItem]) -> tuple[ShortLine, ...]:
    """What the order still has left to ship once `shipping` (this despatch's new shipment; empty when an
    existing shipment was linked, already counted in `qty_shipped`) has shipped. Pure."""
    now: Counter[str] = Counter()
    for item in shipping:
        now[item.line_id] += item.qty
    short = []
    for line in order.lines:
        left = line.left - now[line.line_id]
        if left > 0:
            short.append(ShortLine(line.line_id, line.sku, left, line.unit_minor))
    return tuple(short)


def describe(lines: Sequence[ShortLine], currency: str) -> str:
    units = sum(line.qty for line in lines)
    money = Decimal(sum(line.minor for line in lines)).scaleb(-2)
    what = ", ".join(f"{line.qty} x {line.sku}" for line in lines)
    return f"{units} unit(s) never shipped ({what}), {money} {currency} to refund".rstrip()


class ShortShipments:
    """Settles a closing despatch's unshipped units: an exception, or an offline credit memo."""

    def __init__(
        self,
        exceptions: ExceptionQueue | None,
        *,
        mode: ShortShip = "exception",
        refunder: OfflineRefunder | None = None,
        notify: bool = False,
        source: str = "erp",
    ) -> None:
        self.exceptions = exceptions
        self.mode = mode
        self.refunder = refunder
        self.notify = notify
        self.source = source

    async def settle(
        self, key: str, despatch: Despatch, order: ShippableOrder, shipping: Sequence[ShipmentItem]
    ) -> str:
        """A note for the despatch's ledger row ("" when the despatch does not close a short order)."""
        if not despatch.closes_order:
            return ""
        lines = short_lines(order, shipping)
        if not lines:
            return ""
        what = (
            f"Order {despatch.order_id}: despatch {despatch.despatch_id} closed the order short: "
            + describe(lines, order.currency)
        )
        if self.mode == "credit_memo" and self.refunder is not None:
            marker = f"[short:{key}]"
            try:
                memo = await self.refunder.find_refund(order.entity_id, marker)
                if memo is None:
                    items = tuple(ShipmentItem(line_id=line.line_id, qty=line.qty) for line in lines)
                    comment = f"Short-shipped by the ERP, despatch {despatch.despatch_id} {marker}"
                    memo = await self.refunder.refund_offline(
                        order.entity_id, items, comment, notify=self.notify
                    )
            except Skippable as exc:
                await self._park(
                    key, lines, order, f"{what}. {exc.args[0]}", Reason.SHORT_SHIPMENT_REFUND_REFUSED
                )
                return " Short-shipped; the credit memo was refused (an exception for finance)."
            return f" {what}: refunded offline, credit memo {memo}."
        await self._park(key, lines, order, what + ".", Reason.SHORT_SHIPMENT)
        return f" {what}: an exception for e-commerce."

    async def _park(
        self, key: str, lines: Sequence[ShortLine], order: ShippableOrder, message: str, reason: Reason
    ) -> None:
        if self.exceptions is None:
            return
        rejection = InputRejection(
            source=self.source,
            key=f"short:{key}",
            message=f"{message} Resolution: {REASONS[reason].resolution}",
            reason=reason,
            field="lines",
            impact_minor=sum(line.minor for line in lines),
            currency=order.currency or None,
        )
        await self.exceptions.park_rejections([rejection])
