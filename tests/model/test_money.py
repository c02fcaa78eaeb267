"""Money: amounts are read from the wire as Decimal (never float), rounded half up to the penny, and a
`Money` always carries an ISO 4217 currency that it refuses to mix with another."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trueup.model.money import PENNY, ZERO, Money, round_money, to_decimal, to_minor

D = Decimal

pennies = st.decimals(min_value=D("-100000"), max_value=D("100000"), places=2, allow_nan=False)


# --- to_decimal ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.1, 12.5, -3.0, float("inf"), float("nan")])
def test_to_decimal_refuses_floats(value: float) -> None:
    with pytest.raises(TypeError, match="float"):
        to_decimal(value)


@pytest.mark.parametrize("value", [True, False])
def test_to_decimal_refuses_booleans(value: bool) -> None:
    with pytest.raises(TypeError, match="bool"):
        to_decimal(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.50", D("12.50")), ("0.10", D("0.10")), (7, D(7)), (None, ZERO), (D("3.333"), D("3.333"))],
)
def test_to_decimal_reads_strings_ints_decimals_and_none(value: object, expected: Decimal) -> None:
    result = to_decimal(value)
    assert isinstance(result, Decimal)
    assert result == expected


def test_to_decimal_keeps_a_decimal_exact() -> None:
    assert str(to_decimal(D("0.10"))) == "0.10"


@pytest.mark.parametrize("value", [[1], {"amount": 1}, object()])
def test_to_decimal_refuses_other_types(value: object) -> None:
    with pytest.raises(TypeError):
        to_decimal(value)


# --- rounding --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [
        ("2.675", "2.68"),  # a float would make this 2.67
        ("2.665", "2.67"),  # half up, not banker's rounding (2.66)
        ("0.005", "0.01"),
        ("0.004999", "0.00"),
        ("-2.675", "-2.68"),  # half away from zero
        ("10", "10.00"),
    ],
)
def test_round_money_rounds_half_up_to_the_penny(amount: str, rounded: str) -> None:
    assert str(round_money(D(amount))) == rounded


@given(st.decimals(min_value=D("-1e6"), max_value=D("1e6"), places=6, allow_nan=False))
def test_round_money_is_within_half_a_penny(amount: Decimal) -> None:
    rounded = round_money(amount)
    assert rounded == rounded.quantize(PENNY)
    assert abs(rounded - amount) <= D("0.005")


@given(pennies)
def test_round_money_leaves_penny_amounts_alone(amount: Decimal) -> None:
    assert round_money(amount) == amount


@pytest.mark.parametrize(("amount", "minor"), [("12.34", 1234), ("1.005", 101), ("0", 0), ("-0.50", -50)])
def test_to_minor_is_whole_pence_rounded_half_up(amount: str, minor: int) -> None:
    assert to_minor(D(amount)) == minor


# --- Money -----------------------------------------------------------------------------------------------


def test_money_refuses_a_float_amount() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        Money(12.5, "GBP")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["gbp", "GB", "GBPX", "", "Gbp"])
def test_money_refuses_a_currency_that_is_not_an_iso_code(currency: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        Money(D("1.00"), currency)


@pytest.mark.parametrize("currency", ["1A2", "G8P"])
def test_money_refuses_a_currency_code_with_digits(currency: str) -> None:
    with pytest.raises(ValueError):
        Money(D("1.00"), currency)


@given(pennies, pennies)
def test_money_adds_and_subtracts_in_the_same_currency(a: Decimal, b: Decimal) -> None:
    total = Money(a, "GBP") + Money(b, "GBP")
    assert total == Money(a + b, "GBP")
    assert total - Money(b, "GBP") == Money(a, "GBP")


@pytest.mark.parametrize("op", ["add", "sub"])
def test_money_refuses_to_mix_currencies(op: str) -> None:
    gbp, eur = Money(D("1.00"), "GBP"), Money(D("1.00"), "EUR")
    with pytest.raises(ValueError, match=r"GBP.*EUR"):
        _ = gbp + eur if op == "add" else gbp - eur


def test_money_minor_units_and_text() -> None:
    money = Money(D("12.345"), "GBP")
    assert money.minor == 1235
    assert str(money) == "GBP 12.35"


def test_money_is_immutable() -> None:
    money = Money(D("1.00"), "GBP")
    with pytest.raises(AttributeError):
        money.amount = D("2.00")  # type: ignore[misc]
