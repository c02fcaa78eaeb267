"""Prima's ISO-8859-1 wire text: transliterate what has a faithful Latin-1 form, park what has none."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trueup.connectors.prima.xml import (
    MalformedResponse,
    build_request,
    latin1_text,
    optional_text,
    parse_response,
    serialise,
    transliterate,
)
from trueup.errors import Skippable
from trueup.model.exceptions import Reason


@pytest.mark.parametrize(
    ("text", "latin1"),
    [
        ("O’Brien", "O'Brien"),
        ("“Quoted” – dash — em", '"Quoted" - dash - em'),
        ("Łódź", "Lódz"),  # ó is Latin-1 and stays; Ł and ź lose what Latin-1 lacks
        ("Wałęsa", "Walesa"),
        ("Dvořák", "Dvorák"),
        ("Zoë Brontë Ærø", "Zoë Brontë Ærø"),  # already Latin-1: kept as it is
        ("ﬁne", "fine"),
        ("Ｆｕｌｌ", "Full"),
        ("Œuvre…", "OEuvre..."),
        ("Flat\u00a02\tRear", "Flat 2 Rear"),
        ("Cafe\u0301", "Café"),  # a decomposed accent recomposes to Latin-1 é
    ],
)
def test_text_with_a_faithful_latin1_form_is_transliterated(text: str, latin1: str) -> None:
    assert latin1_text(text, "DeliveryAddress.Name", record="order 1") == latin1


@pytest.mark.parametrize(("text", "culprit"), [("Ann 😀 Smith", "😀"), ("山田 太郎", "山"), ("Иван", "И")])
def test_text_without_one_is_parked_naming_the_field_and_the_characters(text: str, culprit: str) -> None:
    with pytest.raises(Skippable) as caught:
        latin1_text(
            text, "DeliveryAddress.Name", record="order 000000101", reason=Reason.UNREPRESENTABLE_TEXT
        )
    error = caught.value
    assert error.reason == Reason.UNREPRESENTABLE_TEXT
    assert error.field == "DeliveryAddress.Name" and error.value == text
    message = str(error)
    assert "order 000000101" in message and "DeliveryAddress.Name" in message
    assert culprit in message and f"U+{ord(culprit):04X}" in message
    assert "Resolution:" in message


def test_optional_free_text_is_left_out_rather_than_garbled() -> None:
    assert optional_text("Gift – wrapped") == "Gift - wrapped"
    assert optional_text("Gift 🎁") == ""


@given(st.text())
def test_any_text_is_either_refused_or_sent_as_exactly_what_prima_will_read(text: str) -> None:
    latin1, bad = transliterate(text)
    if bad:
        with pytest.raises(Skippable):
            latin1_text(text, "Name", record="order 1")
        return
    root, data = build_request("NewOrder")
    data.set("Name", latin1)
    raw = serialise(root)
    raw.decode("iso-8859-1")  # every byte is Latin-1: nothing escaped, nothing that could be mojibake
    assert b"&#" not in raw
    from lxml import etree

    assert etree.fromstring(raw).find("Data").get("Name") == latin1  # type: ignore[union-attr]


def test_the_envelope_is_iso_8859_1_with_prima_s_declaration_and_company() -> None:
    root, data = build_request("NewOrder", company_id="01")
    data.set("Customer", "Zoë")
    raw = serialise(root)
    assert raw.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?><Request RequestType="NewOrder"')
    assert b'CompanyID="01"' in raw and b"Zo\xeb" in raw


def test_a_response_that_is_not_a_prima_envelope_is_malformed() -> None:
    with pytest.raises(MalformedResponse):
        parse_response(b"<html>proxy error</html>", "NewOrder")
    with pytest.raises(MalformedResponse):
        parse_response(b"not xml", "NewOrder")
    with pytest.raises(MalformedResponse):
        parse_response(b'<Response RequestType="StockEnquiry" Status="OK"/>', "NewOrder")
    assert parse_response(b'<Response RequestType="NewOrder" Status="OK"/>', "NewOrder").get("Status") == "OK"
