"""PID and GS1 barcode validation: what a Merret item export row must carry to reach the item map."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trueup.connectors.files.identifiers import barcode_problem, gs1_check_digit, is_pid, pid_problem


def test_a_pid_is_exactly_fourteen_ascii_digits() -> None:
    assert is_pid("10000000000001")
    assert "14 digits" in pid_problem("1000000000001")
    assert pid_problem("100000000000012")
    assert pid_problem("1000000000000A")
    assert pid_problem("١٠٠٠٠٠٠٠٠٠٠٠٠١")  # Arabic-Indic digits are digits to Python, not to Merret


def test_ean13_and_gtin14_pass_with_the_right_check_digit() -> None:
    assert barcode_problem("5012345678900") == ""
    assert barcode_problem("4006381333931") == ""
    assert barcode_problem("15012345678907") == ""


def test_a_wrong_check_digit_or_length_is_named() -> None:
    assert "check digit 1" in barcode_problem("5012345678901")
    assert "GS1 gives 0" in barcode_problem("5012345678901")
    assert "13 or 14 digits" in barcode_problem("501234567890")
    assert barcode_problem("50123456789O0")


@given(st.text(alphabet="0123456789", min_size=12, max_size=13))
def test_the_computed_check_digit_always_validates(body: str) -> None:
    assert barcode_problem(body + str(gs1_check_digit(body))) == ""
    wrong = (gs1_check_digit(body) + 1) % 10
    assert barcode_problem(body + str(wrong)) != ""
