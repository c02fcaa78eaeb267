"""The warehouse's part of the trading day: the ERP despatches posted orders, and Magento sees shipments.

Of the orders posted, in a reproducible mix: most are despatched whole with one tracking number; some in two
partial despatches (two shipments); some are shipped by hand in the Magento admin first, without tracking,
and then despatched by the ERP (the shipment is linked and its tracking added, never duplicated); some go
with a carrier the deployment has not mapped (parked for the warehouse); some are closed one unit short
(the ERP's despatch says it closes the order: a `short_shipment` exception, or an offline credit memo).
Each ERP sandbox's `despatch()` is the warehouse acting in that ERP, so the despatches reach trueup over
that ERP's own wire.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from trueup.connectors.magento.mapping import to_order
from trueup.rules.lines import booked_lines
from trueup.sandbox.erps import ErpSandbox
from trueup.sandbox.magento import MagentoState
from trueup.sandbox.magento_shipping import shipping_of

UNMAPPED_CARRIER = ("YODEL", "48HR")  # a carrier the warehouse uses that no [mappings.carriers] entry names


@dataclass
class DespatchMix:
    partial: float = 0.15
    manual: float = 0.05
    unmapped: float = 0.03
    short: float = 0.04  # the warehouse closes the order one unit short (out of stock on the shelf)
    share: float = 1.0  # of the posted orders, how many the warehouse despatches today


@dataclass
class DespatchDay:
    """What the warehouse did, and so what trueup should make of it."""

    despatches: int = 0
    expected: Counter[str] = field(default_factory=Counter)  # created / linked_manual / parked / short
    by_order: dict[str, list[str]] = field(default_factory=dict)
    short: dict[str, tuple[str, int]] = field(default_factory=dict)  # order id -> (SKU, units) not shipped


def _lines(raw: Mapping[str, object]) -> tuple[str, list[tuple[str, int]]]:
    """The order's shipping method, and its lines as the ERP booked them (SKU, quantity)."""
    order = to_order(dict(raw), "magento")
    return order.shipping.method, [(line.sku, int(line.qty)) for line in booked_lines(order) if line.qty > 0]


def despatch_posted(
    magento: MagentoState,
    erp: ErpSandbox,
    carriers: Mapping[str, str],
    posted: Iterable[str],
    *,
    seed: int,
    mix: DespatchMix | None = None,
) -> DespatchDay:
    """Despatch the `posted` orders (storefront order ids) in the ERP sandbox, in `mix`."""
    mix = mix or DespatchMix()
    rng = random.Random(seed * 7919 + 17)
    by_id = {str(o["increment_id"]): o for o in magento}
    shipping = shipping_of(magento)
    day = DespatchDay()
    for n, order_id in enumerate(sorted(posted)):
        raw = by_id.get(order_id)
        if raw is None or rng.random() >= mix.share:
            continue
        method, lines = _lines(raw)
        carrier, _, service = carriers.get(method, "RM/TRACKED48").partition("/")
        if not lines:
            continue
        roll = rng.random()
        tracking = f"TRK{seed:02d}{n:06d}"
        ids: list[str] = []
        if roll < mix.unmapped:
            carrier, service = UNMAPPED_CARRIER
            ids.append(
                erp.despatch(order_id, carrier=carrier, service=service, tracking=tracking, lines=lines)
            )
            day.expected["parked"] += 1
        elif roll < mix.unmapped + mix.manual:
            # Someone ships it in the admin first, typing no tracking number; then the ERP's despatch arrives.
            shipping.ship_by_hand(order_id, lines)
            ids.append(
                erp.despatch(order_id, carrier=carrier, service=service, tracking=tracking, lines=lines)
            )
            day.expected["linked_manual"] += 1
        elif roll < mix.unmapped + mix.manual + mix.short and _splittable(lines):
            shipped, missing = _short(lines)
            ids.append(
                erp.despatch(
                    order_id,
                    carrier=carrier,
                    service=service,
                    tracking=tracking,
                    lines=shipped,
                    closes_order=True,
                )
            )
            day.expected["created"] += 1
            day.expected["short"] += 1
            day.short[order_id] = missing
        elif roll < mix.unmapped + mix.manual + mix.short + mix.partial and _splittable(lines):
            first, rest = _split(lines)
            for part, suffix in ((first, "A"), (rest, "B")):
                ids.append(
                    erp.despatch(
                        order_id, carrier=carrier, service=service, tracking=tracking + suffix, lines=part
                    )
                )
            day.expected["created"] += 2
        else:
            ids.append(
                erp.despatch(order_id, carrier=carrier, service=service, tracking=tracking, lines=lines)
            )
            day.expected["created"] += 1
        day.despatches += len(ids)
        day.by_order[order_id] = ids
    return day


def _splittable(lines: list[tuple[str, int]]) -> bool:
    return len(lines) > 1 or lines[0][1] > 1


def _short(lines: list[tuple[str, int]]) -> tuple[list[tuple[str, int]], tuple[str, int]]:
    """Everything but one unit of the last line (the line itself when it had one)."""
    sku, qty = lines[-1]
    shipped = lines[:-1] + ([(sku, qty - 1)] if qty > 1 else [])
    return shipped, (sku, 1)


def _split(lines: list[tuple[str, int]]) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The first despatch takes the first line (or half of a single line), the second the rest."""
    if len(lines) > 1:
        return lines[:1], lines[1:]
    sku, qty = lines[0]
    half = qty // 2
    return [(sku, half)], [(sku, qty - half)]


def shipped_units(magento: MagentoState) -> Decimal:
    """Units Magento has shipped, over every shipment (a duplicate shipment would show up here)."""
    return sum(
        (item["qty"] for s in shipping_of(magento).shipments.values() for item in s["items"]), Decimal(0)
    )
