"""Money: a Decimal amount that always carries its currency. Never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

PENNY = Decimal("0.01")
ZERO = Decimal("0")
MAX_DIGITS = 18  # digits before the point of the largest amount or quantity read from the wire


def to_decimal(value: Any) -> Decimal:
    """Read an amount from the wire. Floats are refused: they have already lost pennies."""
    amount: Decimal
    kind = type(value)
    if kind is Decimal:  # nearly every amount: the JSON decoder makes Decimals
        amount = value
    elif kind is int:  # a whole number on the wire (a quantity, a rate of 20): no isinstance chain
        amount = Decimal(value)
    elif value is None:
        return ZERO
    elif isinstance(value, bool | float):
        raise TypeError(
            f"refusing to read money from {type(value).__name__} {value!r}; parse JSON with Decimal"
        )
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | str):
        if isinstance(value, str) and len(value) > 100:
            raise ValueError(f"a {len(value)}-character string is not an amount")
        amount = Decimal(value)
    else:
        raise TypeError(f"cannot read money from {type(value).__name__} {preview(value)!r}")
    # NaN and Infinity are valid Decimals but no amount or quantity; a number past a trillion trillion is a
    # corrupt field, and rounding it to the penny would overflow the Decimal context further on.
    if not amount.is_finite():
        raise ValueError(f"{amount} is not an amount")
    if amount and amount.adjusted() > MAX_DIGITS:
        raise ValueError(f"{amount:.3E} is out of range for an amount")
    return amount


def preview(value: Any, limit: int = 40) -> str:
    """The start of a value's text, for a message. A value Python refuses to write out (an int of
    thousands of digits, or a list holding one) is named by its type instead of raising again."""
    try:
        return str(value)[:limit]
    except ValueError:
        return f"<a {type(value).__name__} too large to show>"


def round_money(amount: Decimal, exponent: Decimal = PENNY) -> Decimal:
    """Round half up to the currency's minor unit, as UK VAT and most ERPs do."""
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal) -> int:
    """Integer minor units (pence) for analytics and exact comparisons."""
    return int(round_money(amount) * 100)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money.amount must be Decimal, got {type(self.amount).__name__}")
        if len(self.currency) != 3 or not (self.currency.isalpha() and self.currency.isupper()):
            raise ValueError(f"currency must be an ISO 4217 code like 'GBP', got {self.currency!r}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    @property
    def minor(self) -> int:
        return to_minor(self.amount)

    def __str__(self) -> str:
        return f"{self.currency} {round_money(self.amount)}"
