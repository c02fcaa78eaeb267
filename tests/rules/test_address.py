"""Fitting storefront addresses into the ERP's fixed-width fields: street lines are re-wrapped losslessly or
refused, never cut; UK postcodes are normalised and format-checked; empty required fields are invalid."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from trueup.model.items import FieldLimits
from trueup.model.orders import Address
from trueup.rules.address import fit_address, fit_street, normalise_uk_postcode

LIMITS = FieldLimits()


def address(**changes: object) -> Address:
    fields: dict[str, object] = {
        "first_name": "Ann",
        "last_name": "Smith",
        "street": ("Flat 2", "10 High Street"),
        "city": "Leeds",
        "postcode": "LS1 4AP",
        "country": "GB",
        "phone": "0113 496 0000",
        "email": "ann@example.co.uk",
    }
    fields.update(changes)
    return Address.model_validate(fields)


# --- fit_street: properties ------------------------------------------------------------------------------

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-'.", min_size=1, max_size=40)
street_line = st.lists(words, min_size=0, max_size=8).map(" ".join) | st.lists(words, max_size=6).map(
    "  \t".join  # untidy whitespace inside a line
)
streets = st.lists(street_line, min_size=0, max_size=5).map(tuple)


def _normalised(street: tuple[str, ...]) -> list[str]:
    return [" ".join(s.split()) for s in street if s.strip()]


def _fewest_lines(tokens: list[str], width: int) -> int | None:
    """Fewest lines of `width` the tokens can be laid out in, in order (dynamic programming, not greedy)."""
    best: list[int | None] = [0] + [None] * len(tokens)
    for end in range(1, len(tokens) + 1):
        for start in range(end):
            previous = best[start]
            if previous is None or len(" ".join(tokens[start:end])) > width:
                continue
            if best[end] is None or previous + 1 < best[end]:  # type: ignore[operator]
                best[end] = previous + 1
    return best[-1]


@given(streets, st.integers(min_value=8, max_value=40), st.integers(min_value=1, max_value=4))
def test_fit_street_lines_fit_the_width_and_the_line_count(
    street: tuple[str, ...], width: int, max_lines: int
) -> None:
    lines = fit_street(street, width, max_lines)
    assume(lines is not None)
    assert lines is not None
    assert len(lines) <= max_lines
    assert all(0 < len(line) <= width for line in lines)


@given(streets, st.integers(min_value=8, max_value=40), st.integers(min_value=1, max_value=4))
def test_fit_street_keeps_every_word_in_order(street: tuple[str, ...], width: int, max_lines: int) -> None:
    lines = fit_street(street, width, max_lines)
    assume(lines is not None)
    assert lines is not None
    kept = _normalised(street)
    out_tokens = " ".join(lines).split(" ")
    # Either the lines were kept as they were, or they were joined with ", " and re-wrapped.
    assert out_tokens in (" ".join(kept).split(" "), ", ".join(kept).split(" "))


@given(streets, st.integers(min_value=8, max_value=40), st.integers(min_value=1, max_value=4))
def test_fit_street_gives_up_only_when_no_layout_fits(
    street: tuple[str, ...], width: int, max_lines: int
) -> None:
    kept = _normalised(street)
    as_is = len(kept) <= max_lines and all(len(line) <= width for line in kept)
    fewest = _fewest_lines(", ".join(kept).split(" "), width) if kept else 0
    possible = as_is or (fewest is not None and fewest <= max_lines)
    assert (fit_street(street, width, max_lines) is not None) == possible


# --- fit_street: examples --------------------------------------------------------------------------------


def test_fit_street_keeps_lines_that_already_fit() -> None:
    assert fit_street(("Flat 2", "10 High Street"), 35, 3) == ["Flat 2", "10 High Street"]


def test_fit_street_rejoin_always_joins_the_lines_and_fills_each_one() -> None:
    assert fit_street(("Flat 2", "10 High Street"), 35, 3, rejoin=True) == ["Flat 2, 10 High Street"]
    assert fit_street(("Flat 2", "Rose Court", "10 High St", "Headingley"), 20, 3, rejoin=True) == [
        "Flat 2, Rose Court,",
        "10 High St,",
        "Headingley",
    ]


@given(streets, st.integers(min_value=8, max_value=40), st.integers(min_value=1, max_value=4))
def test_fit_street_rejoin_is_the_join_rewrapped_and_fits_when_the_join_does(
    street: tuple[str, ...], width: int, max_lines: int
) -> None:
    kept = _normalised(street)
    lines = fit_street(street, width, max_lines, rejoin=True)
    fewest = _fewest_lines(", ".join(kept).split(" "), width) if kept else 0
    assert (lines is not None) == (fewest is not None and fewest <= max_lines)
    if lines is not None:
        assert " ".join(lines).split(" ") == (", ".join(kept).split(" ") if kept else [""])


@pytest.mark.parametrize(
    ("setting", "lines"),
    [({}, ("Flat 2", "10 High Street")), ({"street_lines": "rejoin"}, ("Flat 2, 10 High Street",))],
)
def test_the_erp_street_lines_setting_reaches_the_order_rules(
    setting: dict[str, str], lines: tuple[str, ...]
) -> None:
    from trueup.config import parse_config
    from trueup.deployment import order_rules

    config = parse_config({"storefront": {"base_url": "https://shop/rest/default"}, "erp": setting})
    fitted, problems = fit_address(address(), order_rules(config).limits, "shipping_address")
    assert problems == [] and fitted is not None and fitted.lines == lines


def test_fit_street_drops_blank_lines_and_tidies_whitespace() -> None:
    assert fit_street(("  10   High Street ", "", "   "), 35, 3) == ["10 High Street"]


def test_fit_street_rewraps_a_long_line_on_word_boundaries() -> None:
    street = ("Flat 12, Rosemary Court Apartments, Building C, 14 Long Lane",)
    assert fit_street(street, 35, 3) == ["Flat 12, Rosemary Court Apartments,", "Building C, 14 Long Lane"]


def test_fit_street_joins_too_many_lines_with_a_comma() -> None:
    assert fit_street(("Flat 2", "Rose Court", "10 High St", "Headingley"), 35, 3) == [
        "Flat 2, Rose Court, 10 High St,",
        "Headingley",
    ]


def test_fit_street_refuses_a_36_character_word() -> None:
    assert fit_street(("A" * 36,), 35, 3) is None
    assert fit_street(("1 " + "B" * 36 + " Road",), 35, 3) is None


def test_fit_street_accepts_a_35_character_word() -> None:
    assert fit_street(("A" * 35,), 35, 3) == ["A" * 35]


def test_fit_street_refuses_what_needs_too_many_lines() -> None:
    street = (
        "Flat 12, Rosemary Court Apartments, Building C",
        "123 Extraordinarily Long Named Road Industrial Estate",
        "Little Snoring-on-the-Marsh Business Park East Wing",
    )
    assert fit_street(street, 35, 3) is None


# --- postcodes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("ls14ap", "LS1 4AP"),
        (" sw1a  1aa ", "SW1A 1AA"),
        ("M11AE", "M1 1AE"),
        ("EC1A1BB", "EC1A 1BB"),
        ("DN55 1PT", "DN55 1PT"),
        ("gir0aa", "GIR 0AA"),
    ],
)
def test_normalise_uk_postcode(raw: str, normal: str) -> None:
    assert normalise_uk_postcode(raw) == normal


@pytest.mark.parametrize("postcode", ["ls14ap", "SW1A 1AA", "m1 1ae", "B33 8TH", "CR2 6XH", "W1A 0AX"])
def test_valid_uk_postcodes_are_accepted_and_normalised(postcode: str) -> None:
    erp, problems = fit_address(address(postcode=postcode), LIMITS, "shipping_address")
    assert problems == []
    assert erp is not None
    assert erp.postcode == normalise_uk_postcode(postcode)


@pytest.mark.parametrize("postcode", ["", "LS1", "12345", "QS1 4AP", "LS1 4CP", "LS1 44P", "LSS1 4AP"])
def test_invalid_uk_postcodes_are_a_postcode_problem(postcode: str) -> None:
    erp, problems = fit_address(address(postcode=postcode), LIMITS, "shipping_address")
    assert erp is None
    assert [(p.kind, p.field, p.value) for p in problems] == [
        ("postcode", "shipping_address.postcode", postcode)
    ]


def test_postcodes_outside_the_uk_are_not_checked_against_the_uk_format() -> None:
    erp, problems = fit_address(address(country="DE", postcode="10115"), LIMITS, "billing_address")
    assert problems == []
    assert erp is not None and erp.postcode == "10115" and erp.country == "DE"


# --- fit_address -----------------------------------------------------------------------------------------


def test_a_good_address_maps_onto_the_erp_fields() -> None:
    erp, problems = fit_address(address(country="gb", city=" Leeds "), LIMITS, "shipping_address")
    assert problems == []
    assert erp is not None
    assert (erp.name, erp.lines, erp.city, erp.country) == (
        "Ann Smith",
        ("Flat 2", "10 High Street"),
        "Leeds",
        "GB",
    )


def test_a_street_too_long_is_a_problem_naming_the_street_field() -> None:
    street = ("Flat 12, Rosemary Court Apartments, Building C", "123 " + "Extraordinarily Long Road " * 4)
    erp, problems = fit_address(address(street=street), LIMITS, "shipping_address")
    assert erp is None
    assert [(p.kind, p.field) for p in problems] == [("too_long", "shipping_address.street")]
    assert "3 lines of 35 characters" in problems[0].message


@pytest.mark.parametrize("city", ["", "   "])
def test_an_empty_city_is_invalid(city: str) -> None:
    erp, problems = fit_address(address(city=city), LIMITS, "billing_address")
    assert erp is None
    assert [(p.kind, p.field) for p in problems] == [("invalid", "billing_address.city")]


def test_an_empty_street_is_invalid() -> None:
    erp, problems = fit_address(address(street=("", " ")), LIMITS, "billing_address")
    assert erp is None
    assert ("invalid", "billing_address.street") in [(p.kind, p.field) for p in problems]


@pytest.mark.parametrize("country", ["", "GBR", "U1"])
def test_a_country_that_is_not_an_iso_code_is_invalid(country: str) -> None:
    erp, problems = fit_address(address(country=country), LIMITS, "shipping_address")
    assert erp is None
    assert ("invalid", "shipping_address.country") in [(p.kind, p.field) for p in problems]


@pytest.mark.parametrize(
    ("field", "value"),
    [("city", "C" * 36), ("phone", "0" * 21), ("email", "a" * 95 + "@x.com"), ("company", "Co" * 31)],
)
def test_fields_over_the_erp_limit_are_too_long(field: str, value: str) -> None:
    erp, problems = fit_address(address(**{field: value}), LIMITS, "shipping_address")
    assert erp is None
    assert [(p.kind, p.field, p.value) for p in problems] == [
        ("too_long", f"shipping_address.{field}", value)
    ]


def test_orders_are_checked_against_the_erp_connectors_own_limits() -> None:
    """A connector narrows `[erp.limits]` to its wire (Stokly has two address lines): the planner must use
    that, or a third line would be squeezed into the second one past its width."""
    from trueup.config import parse_config
    from trueup.deployment import order_rules

    config = parse_config({"storefront": {"base_url": "https://shop/rest/default"}, "erp": {}})
    three = address(street=("Flat 12 Rosemary Court Apartments", "Building C Long Lane", "Headingley Park"))
    assert fit_address(three, order_rules(config).limits, "shipping_address")[0] is not None
    fitted, problems = fit_address(three, order_rules(config, FieldLimits(address_lines=2)).limits, "ship")
    assert fitted is None and [p.field for p in problems] == ["ship.street"]
