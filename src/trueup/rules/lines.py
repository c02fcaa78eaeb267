"""Which storefront lines become ERP lines, and which of them carry the money.

Magento puts a configurable product on two lines: the parent carries the money and the child's SKU, the
child line's price is 0. A bundle's own SKU is dynamic (its parts joined with "-") and is never an ERP item:
its children are. A dynamic-price bundle's children carry their own money; a fixed-price bundle's money
sits on the parent and is apportioned over the children by quantity.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from trueup.model.money import PENNY, ZERO
from trueup.model.orders import Order, OrderLine, ProductType


@dataclass(frozen=True, slots=True)
class BookedLine:
    """A line as it will be booked: the SKU to resolve, and the money it carries."""

    line_id: str
    sku: str
    name: str
    qty: Decimal
    net: Decimal  # row total before discount, excluding tax
    discount: Decimal  # excluding tax
    tax: Decimal
    tax_rate: Decimal
    field: str  # where in the storefront order this line came from, for error messages


def _money(line: OrderLine) -> tuple[Decimal, Decimal, Decimal]:
    discount_net = line.discount - line.discount_tax_compensation
    return line.row_total, discount_net, line.tax


def apportion(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `amount` in proportion to `weights`, to the penny: each share is the exact proportion rounded
    down, and the pennies left over go to the shares that lost most in rounding (largest remainder; ties
    go to the later share)."""
    total = sum(weights, ZERO)
    if total == 0:
        return [amount] + [ZERO] * (len(weights) - 1)
    sign = -1 if amount < 0 else 1
    exact = [abs(amount) * w / total for w in weights]
    shares = [e.quantize(PENNY, rounding=ROUND_DOWN) for e in exact]
    left = int((abs(amount) - sum(shares, ZERO)) / PENNY)
    by_remainder = sorted(range(len(weights)), key=lambda i: (exact[i] - shares[i], i), reverse=True)
    for i in by_remainder[:left]:
        shares[i] += PENNY
    return [sign * s for s in shares]


def booked_lines(order: Order) -> list[BookedLine]:
    booked: list[BookedLine] = []
    for parent in order.money_lines:
        children = order.children_of(parent.line_id)
        where = f"lines[{order.position_of(parent.line_id)}]"
        if parent.product_type == ProductType.CONFIGURABLE and children:
            child = children[0]
            net, discount, tax = _money(parent)
            booked.append(
                BookedLine(
                    parent.line_id,
                    child.sku,
                    child.name or parent.name,
                    parent.qty,
                    net,
                    discount,
                    tax,
                    parent.tax_rate,
                    f"lines[{order.position_of(child.line_id)}].sku",
                )
            )
        elif parent.product_type == ProductType.BUNDLE and children:
            # A fixed-price bundle: the money sits on the parent (a dynamic-price bundle's children carry
            # their own and come through `money_lines` as plain lines).
            net, discount, tax = _money(parent)
            weights = [c.qty for c in children]
            for c, n, d, t in zip(
                children,
                apportion(net, weights),
                apportion(discount, weights),
                apportion(tax, weights),
                strict=True,
            ):
                booked.append(
                    BookedLine(
                        c.line_id,
                        c.sku,
                        c.name,
                        c.qty,
                        n,
                        d,
                        t,
                        parent.tax_rate,
                        f"lines[{order.position_of(c.line_id)}].sku",
                    )
                )
        else:
            net, discount, tax = _money(parent)
            booked.append(
                BookedLine(
                    parent.line_id,
                    parent.sku,
                    parent.name,
                    parent.qty,
                    net,
                    discount,
                    tax,
                    parent.tax_rate,
                    f"{where}.sku",
                )
            )
    return booked
