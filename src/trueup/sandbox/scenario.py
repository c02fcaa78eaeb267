"""A reproducible trading day: a catalogue, the ERP's item master, and Magento orders, good and bad.

The same seed gives the same day. Bad orders are made deliberately, each with one known fault, so a test or
the demo can say exactly how many should post and how many should be parked, and why.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from faker import Faker

PENNY = Decimal("0.01")
TIME = "%Y-%m-%d %H:%M:%S"

# Shipping methods the demo deployment maps to ERP carriers, and one it does not.
CARRIERS = {
    "flatrate_flatrate": "RM/TRACKED48",
    "tablerate_bestway": "DPD/NEXTDAY",
    "freeshipping_freeshipping": "RM/TRACKED48",
    "dpd_express": "DPD/EXPRESS",
}
UNMAPPED_METHOD = "premiumcarrier_sameday"
SHIPPING_PRICES = {
    "flatrate_flatrate": Decimal("3.95"),
    "tablerate_bestway": Decimal("5.99"),
    "freeshipping_freeshipping": Decimal("0.00"),
    "dpd_express": Decimal("9.95"),
}
COUNTRIES = [
    ("GB", "en_GB", "GBP", 20, 86),
    ("IE", "en_IE", "EUR", 23, 6),
    ("DE", "de_DE", "EUR", 19, 4),
    ("FR", "fr_FR", "EUR", 20, 4),
]
PAYMENT_METHODS = ["stripe_payments", "braintree", "paypal_express", "checkmo"]


@dataclass(frozen=True)
class FaultMix:
    """Share of orders (0..1) made with each fault. The rest are good orders."""

    unknown_sku: float = 0.03
    inactive_sku: float = 0.005
    address_too_long: float = 0.03
    unmapped_carrier: float = 0.02
    tax_variance: float = 0.02
    malformed: float = 0.002
    pending_payment: float = 0.05  # good orders whose payment is captured later in the day

    @classmethod
    def none(cls) -> FaultMix:
        return cls(0, 0, 0, 0, 0, 0, 0)


@dataclass
class Product:
    sku: str
    name: str
    price_incl: Decimal
    kind: str = "simple"  # simple | configurable | bundle
    children: list[Product] = field(default_factory=list)


@dataclass
class Scenario:
    seed: int
    orders: list[dict[str, Any]]
    erp_items: list[dict[str, Any]]
    expected: dict[str, str]  # increment_id -> "post" or the reason code it must be parked with
    pending: list[int]  # entity ids whose payment is captured later
    carriers: dict[str, str] = field(default_factory=lambda: dict(CARRIERS))

    def expected_counts(self) -> Counter[str]:
        return Counter(self.expected.values())


def _m(value: Decimal) -> Decimal:
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


def ean13(rng: random.Random) -> str:
    digits = [5, 0] + [rng.randrange(10) for _ in range(10)]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits)) + str(check)


class ScenarioBuilder:
    def __init__(self, seed: int, *, skus: int = 400) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.fakers = {code: Faker(locale) for code, locale, *_ in COUNTRIES}
        for i, f in enumerate(self.fakers.values()):
            f.seed_instance(seed * 31 + i)
        self.catalogue = self._catalogue(skus)
        self.people = {code: [self._person(code) for _ in range(150)] for code, *_ in COUNTRIES}
        self.web_only = [
            Product(f"WEB-ONLY-{i:04d}", f"Web exclusive {i}", Decimal("19.99")) for i in range(20)
        ]

    # catalogue
    def _catalogue(self, n: int) -> list[Product]:
        rng = self.rng
        products: list[Product] = []
        colours, sizes = ["Black", "Navy", "Orange", "Sage", "Ivory"], ["S", "M", "L", "XL"]
        for i in range(n):
            price = Decimal(rng.choice([8, 12, 15, 18, 22, 25, 30, 35, 45, 60, 85])) - Decimal(
                "0.01"
            ) * rng.choice([0, 1, 5])
            roll = rng.random()
            base = f"TU{i:04d}"
            if roll < 0.45:
                kids = [
                    Product(f"{base}-{s}-{c}", f"Tee {i} {s} {c}", price)
                    for c in rng.sample(colours, 2)
                    for s in sizes
                ]
                products.append(Product(base, f"Tee {i}", price, "configurable", kids))
            elif roll < 0.52:
                kids = [Product(f"{base}-P{j}", f"Gift set {i} part {j}", _m(price / 3)) for j in range(3)]
                products.append(Product(base, f"Gift set {i}", price, "bundle", kids))
            else:
                products.append(Product(base, f"Accessory {i}", price))
        return products

    def erp_items(self, inactive: set[str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        n = 0
        for p in self.catalogue:
            for sku_product in p.children if p.kind != "simple" else [p]:
                n += 1
                items.append(
                    {
                        "item_id": f"IT-{n:06d}",
                        "sku": sku_product.sku,
                        "barcode": ean13(self.rng),
                        "name": sku_product.name,
                        "active": sku_product.sku not in inactive,
                        "updated_at": "2026-01-01T00:00:00Z",
                    }
                )
        return items

    def _person(self, country: str) -> dict[str, Any]:
        f = self.fakers[country]
        street = [f"{f.building_number()} {f.street_name()}"]
        if self.rng.random() < 0.3:
            street.insert(0, f"Flat {self.rng.randint(1, 40)}")
        first, last = f.first_name(), f.last_name()
        return {
            "firstname": first,
            "lastname": last,
            "street": street,
            "city": f.city(),
            "postcode": f.postcode(),
            "country_id": country,
            "telephone": f.phone_number()[:20],
            "email": f"{first}.{last}{self.rng.randint(1, 999)}@example.com".lower().replace(" ", ""),
        }

    # orders
    def _line_amounts(self, price_incl: Decimal, qty: int, rate: int, discount_pct: int) -> dict[str, Any]:
        """Magento's tax-inclusive line maths: tax after discount, the discount's hidden tax compensated."""
        r = Decimal(rate)
        row_incl = price_incl * qty
        discount = _m(row_incl * discount_pct / 100)
        tax = _m((row_incl - discount) * r / (100 + r))
        compensation = _m(discount * r / (100 + r))
        row_total = row_incl - tax - compensation
        return {
            "price": _m(price_incl * 100 / (100 + r)),
            "base_price": _m(price_incl * 100 / (100 + r)),
            "original_price": _m(price_incl * 100 / (100 + r)),
            "price_incl_tax": price_incl,
            "base_price_incl_tax": price_incl,
            "row_total": row_total,
            "base_row_total": row_total,
            "row_total_incl_tax": row_incl,
            "base_row_total_incl_tax": row_incl,
            "discount_amount": discount,
            "base_discount_amount": discount,
            "discount_percent": Decimal(discount_pct),
            "discount_tax_compensation_amount": compensation,
            "base_discount_tax_compensation_amount": compensation,
            "tax_amount": tax,
            "base_tax_amount": tax,
            "tax_percent": r,
        }

    def _item(
        self,
        order_id: int,
        item_id: int,
        product: Product,
        qty: int,
        amounts: dict[str, Any] | None,
        kind: str,
        parent: int | None,
        sku: str,
        created: str,
    ) -> dict[str, Any]:
        zero = {
            k: Decimal(0)
            for k in (
                "price",
                "base_price",
                "original_price",
                "price_incl_tax",
                "row_total",
                "base_row_total",
                "row_total_incl_tax",
                "discount_amount",
                "tax_amount",
                "discount_tax_compensation_amount",
            )
        }
        item: dict[str, Any] = {
            "item_id": item_id,
            "order_id": order_id,
            "quote_item_id": item_id + 7,
            "product_id": 1000 + item_id,
            "product_type": kind,
            "sku": sku,
            "name": product.name,
            "qty_ordered": Decimal(qty),
            "qty_invoiced": Decimal(0),
            "qty_shipped": Decimal(0),
            "qty_refunded": Decimal(0),
            "qty_canceled": Decimal(0),
            "is_virtual": 0,
            "is_qty_decimal": 0,
            "no_discount": 0,
            "free_shipping": 0,
            "weight": Decimal("0.5"),
            "row_weight": Decimal("0.5") * qty,
            "store_id": 1,
            "created_at": created,
            "updated_at": created,
            "amount_refunded": Decimal(0),
            "base_amount_refunded": Decimal(0),
            "tax_invoiced": Decimal(0),
            "row_invoiced": Decimal(0),
            "discount_invoiced": Decimal(0),
        }
        item.update(amounts if amounts is not None else zero)
        if amounts is None:
            item["tax_percent"] = Decimal(0)
        if parent is not None:
            item["parent_item_id"] = parent
        return item

    def order(
        self, entity_id: int, created: datetime, fault: str | None, pending: bool, inactive_sku: str
    ) -> tuple[dict[str, Any], str | None]:
        """One Magento order with at most one deliberate fault; returns it and the fault really applied."""
        rng = self.rng
        country, _, currency, rate, _ = rng.choices(COUNTRIES, weights=[c[4] for c in COUNTRIES])[0]
        person = dict(rng.choice(self.people[country]))
        ts = created.strftime(TIME)
        items: list[dict[str, Any]] = []
        next_item = entity_id * 10
        discount_pct = rng.choice([0, 0, 0, 10, 15])
        n_lines = rng.choice([1, 1, 2, 2, 3, 4])
        chosen = [rng.choice(self.catalogue) for _ in range(n_lines)]
        if fault == "unknown_sku":
            chosen[-1] = rng.choice(self.web_only)
        if fault == "inactive_sku":
            chosen[0] = next(p for p in self.catalogue if any(c.sku == inactive_sku for c in p.children))
        for product in chosen:
            qty = rng.choice([1, 1, 1, 2, 3])
            next_item += 1
            parent_id = next_item
            if product.kind == "configurable":
                child = rng.choice([c for c in product.children if c.sku != inactive_sku])
                if fault == "inactive_sku" and any(c.sku == inactive_sku for c in product.children):
                    child = next(c for c in product.children if c.sku == inactive_sku)
                amounts = self._line_amounts(product.price_incl, qty, rate, discount_pct)
                items.append(
                    self._item(
                        entity_id, parent_id, product, qty, amounts, "configurable", None, child.sku, ts
                    )
                )
                next_item += 1
                items.append(
                    self._item(entity_id, next_item, child, qty, None, "simple", parent_id, child.sku, ts)
                )
            elif product.kind == "bundle":
                dynamic_sku = "-".join([product.sku, *(c.sku for c in product.children)])
                items.append(
                    self._item(entity_id, parent_id, product, qty, None, "bundle", None, dynamic_sku, ts)
                )
                for c in product.children:
                    next_item += 1
                    amounts = self._line_amounts(c.price_incl, qty, rate, discount_pct)
                    items.append(
                        self._item(entity_id, next_item, c, qty, amounts, "simple", parent_id, c.sku, ts)
                    )
            else:
                amounts = self._line_amounts(product.price_incl, qty, rate, discount_pct)
                items.append(
                    self._item(entity_id, parent_id, product, qty, amounts, "simple", None, product.sku, ts)
                )
        if rng.random() < 0.05:  # a free gift line: zero price, zero tax, still an ERP line
            gift = rng.choice([p for p in self.catalogue if p.kind == "simple"])
            next_item += 1
            zero = self._line_amounts(Decimal(0), 1, rate, 0)
            items.append(self._item(entity_id, next_item, gift, 1, zero, "simple", None, gift.sku, ts))

        # The lines that carry money: not a bundle's parent, not a configurable's zero-priced child.
        money = [
            i
            for i in items
            if i["product_type"] != "bundle"
            and not (i.get("parent_item_id") and i["row_total_incl_tax"] == 0)
        ]
        delta = Decimal(0)
        if fault == "tax_variance":
            taxed = [i for i in money if i["tax_amount"] > 0]
            if taxed:
                delta = Decimal(rng.choice(["0.05", "0.11", "0.37", "-0.06"]))
                taxed[0]["tax_amount"] += delta
            else:
                fault = None

        method = UNMAPPED_METHOD if fault == "unmapped_carrier" else rng.choice(list(CARRIERS))
        ship_incl = SHIPPING_PRICES.get(method, Decimal("14.95"))
        ship_tax = _m(ship_incl * rate / (100 + rate))
        ship_net = ship_incl - ship_tax
        subtotal = sum((i["row_total"] for i in money), Decimal(0))
        subtotal_incl = sum((i["row_total_incl_tax"] for i in money), Decimal(0))
        discount = sum((i["discount_amount"] for i in money), Decimal(0))
        line_tax = sum((i["tax_amount"] for i in money), Decimal(0))
        charged = sum((i["row_total_incl_tax"] - i["discount_amount"] for i in money), Decimal(0)) + delta
        tax = line_tax + ship_tax
        grand = charged + ship_incl

        address = person
        if fault == "address_too_long":
            address = dict(
                person,
                street=[
                    "Flat 12, Rosemary Court Apartments, Building C",
                    f"{rng.randint(100, 999)} Extraordinarily Long Named Road Industrial Estate",
                    "Little Snoring-on-the-Marsh Business Park East Wing",
                ],
            )
        billing = {"address_type": "billing", "entity_id": entity_id * 2, "parent_id": entity_id, **person}
        shipping_addr = {
            "address_type": "shipping",
            "entity_id": entity_id * 2 + 1,
            "parent_id": entity_id,
            **address,
        }
        paid = Decimal(0) if pending else grand
        state = "pending_payment" if pending else "processing"
        order: dict[str, Any] = {
            "entity_id": entity_id,
            "increment_id": f"{entity_id:09d}",
            "state": state,
            "status": state,
            "created_at": ts,
            "updated_at": ts,
            "store_id": 1,
            "store_name": "Main Website\nMain Website Store\nDefault Store View",
            "customer_email": person["email"],
            "customer_firstname": person["firstname"],
            "customer_lastname": person["lastname"],
            "customer_is_guest": 1 if rng.random() < 0.4 else 0,
            "customer_group_id": 1,
            "customer_note_notify": 1,
            "order_currency_code": currency,
            "base_currency_code": currency,
            "global_currency_code": currency,
            "store_currency_code": currency,
            "base_to_global_rate": Decimal(1),
            "base_to_order_rate": Decimal(1),
            "subtotal": subtotal,
            "base_subtotal": subtotal,
            "subtotal_incl_tax": subtotal_incl,
            "base_subtotal_incl_tax": subtotal_incl,
            "discount_amount": -discount,
            "base_discount_amount": -discount,
            "shipping_amount": ship_net,
            "base_shipping_amount": ship_net,
            "shipping_tax_amount": ship_tax,
            "base_shipping_tax_amount": ship_tax,
            "shipping_incl_tax": ship_incl,
            "base_shipping_incl_tax": ship_incl,
            "shipping_discount_amount": Decimal(0),
            "base_shipping_discount_amount": Decimal(0),
            "shipping_description": method.replace("_", " ").title(),
            "tax_amount": tax,
            "base_tax_amount": tax,
            "grand_total": grand,
            "base_grand_total": grand,
            "total_paid": paid,
            "base_total_paid": paid,
            "total_due": grand - paid,
            "base_total_due": grand - paid,
            "total_qty_ordered": sum(
                (i["qty_ordered"] for i in items if "parent_item_id" not in i), Decimal(0)
            ),
            "total_item_count": len(items),
            "weight": sum((i["row_weight"] for i in items), Decimal(0)),
            "is_virtual": 0,
            "email_sent": 1,
            "protect_code": f"{rng.getrandbits(24):06x}",
            "quote_id": entity_id + 100,
            "billing_address_id": entity_id * 2,
            "items": items,
            "billing_address": billing,
            "payment": {
                "entity_id": entity_id,
                "parent_id": entity_id,
                "method": rng.choice(PAYMENT_METHODS),
                "account_status": None,
                "additional_information": [""],
                "cc_last4": None,
                "amount_ordered": grand,
                "base_amount_ordered": grand,
                "amount_paid": paid,
                "base_amount_paid": paid,
                "shipping_amount": ship_net,
                "base_shipping_amount": ship_net,
                "last_trans_id": f"ch_{rng.getrandbits(48):012x}" if not pending else None,
            },
            "status_histories": [],
            "extension_attributes": {
                "shipping_assignments": [
                    {
                        "shipping": {
                            "address": shipping_addr,
                            "method": method,
                            "total": {
                                "shipping_amount": ship_net,
                                "base_shipping_amount": ship_net,
                                "shipping_incl_tax": ship_incl,
                                "base_shipping_incl_tax": ship_incl,
                                "shipping_tax_amount": ship_tax,
                                "base_shipping_tax_amount": ship_tax,
                                "shipping_discount_amount": Decimal(0),
                            },
                        },
                        "items": [i for i in items if "parent_item_id" not in i],
                    }
                ]
            },
        }
        if fault == "malformed":
            del order["billing_address"]
        return order, fault


FAULT_REASONS = {
    "unknown_sku": "unknown_sku",
    "inactive_sku": "inactive_sku",
    "address_too_long": "address_too_long",
    "unmapped_carrier": "unmapped_carrier",
    "tax_variance": "tax_variance",
    "malformed": "malformed_record",
}


def generate(
    seed: int, orders: int, *, start: datetime, end: datetime, faults: FaultMix | None = None, skus: int = 400
) -> Scenario:
    """A trading day of `orders` Magento orders placed between `start` and `end`."""
    mix = faults if faults is not None else FaultMix()
    builder = ScenarioBuilder(seed, skus=skus)
    rng = builder.rng
    children = [c.sku for p in builder.catalogue if p.kind == "configurable" for c in p.children]
    inactive_sku = rng.choice(children)
    inactive = {inactive_sku}
    span = max(1.0, (end - start).total_seconds())
    shares = [
        ("unknown_sku", mix.unknown_sku),
        ("inactive_sku", mix.inactive_sku),
        ("address_too_long", mix.address_too_long),
        ("unmapped_carrier", mix.unmapped_carrier),
        ("tax_variance", mix.tax_variance),
        ("malformed", mix.malformed),
    ]
    out: list[dict[str, Any]] = []
    expected: dict[str, str] = {}
    pending: list[int] = []
    for n in range(1, orders + 1):
        created = start + timedelta(seconds=span * (n - 1) / max(1, orders))
        roll, fault = rng.random(), None
        for name, share in shares:
            if roll < share:
                fault = name
                break
            roll -= share
        is_pending = fault is None and rng.random() < mix.pending_payment
        order, fault = builder.order(n, created, fault, is_pending, inactive_sku)
        out.append(order)
        expected[order["increment_id"]] = FAULT_REASONS[fault] if fault else "post"
        if is_pending:
            pending.append(n)
    return Scenario(seed, out, builder.erp_items(inactive), expected, pending)


def capture_payment(order: dict[str, Any]) -> dict[str, Any]:
    """The changes Magento makes when a pending order's payment is captured (an invoice is raised)."""
    grand = order["grand_total"]
    payment = dict(
        order["payment"], amount_paid=grand, base_amount_paid=grand, last_trans_id="ch_captured_later"
    )
    return {
        "state": "processing",
        "status": "processing",
        "total_paid": grand,
        "base_total_paid": grand,
        "total_due": Decimal(0),
        "base_total_due": Decimal(0),
        "payment": payment,
    }
