"""Masking personal data in payloads, free text and log records."""

from __future__ import annotations

import json
import logging

import pytest

from trueup.sandbox.world import trading_day
from trueup.security.logs import PiiFilter
from trueup.security.pii import (
    erase_payload,
    mask_email,
    mask_field,
    mask_payload,
    mask_phone,
    mask_postcode,
    mask_text,
)


def test_masks_keep_a_hint_and_never_the_value() -> None:
    assert mask_email("john.smith@example.com") == "j***@e***.com"
    assert mask_phone("+44 20 7946 0958") == "***58"
    assert mask_postcode("sw1a 1aa", "GB") == "SW1A ***"
    assert mask_postcode("10115", "DE") == "10***"
    assert mask_field("shipping_address.street", "12 Acacia Avenue") == "***[16]"
    assert mask_field("billing_address.country", "XX") == "XX"


@pytest.mark.parametrize(
    "phone", ["+44(0)1632 960123", "01632 960 123", "(0161) 496 0000", "+1-234-567-8901", "6782367689"]
)
def test_phone_numbers_in_free_text_are_masked(phone: str) -> None:
    assert phone not in mask_text(f"customer rang from {phone} today")


@pytest.mark.parametrize(
    "text",
    ["at 2026-11-29 20:32:48", "order 000000012", "barcode 5012345678900", "amount 1234.56 GBP"],
)
def test_dates_ids_barcodes_and_amounts_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def _people(seed: int) -> list[dict[str, object]]:
    return [o for o in trading_day(seed, 300).orders if o.get("billing_address")]


def test_every_scenario_customer_is_masked_in_a_raw_magento_order() -> None:
    for order in _people(1):
        masked = json.dumps(mask_payload(order), default=str)
        address = order["billing_address"]
        assert isinstance(address, dict)
        for value in (address["telephone"], address["email"], *address["street"]):
            assert not value or value not in masked, value
        assert order["increment_id"] in masked and "grand_total" in masked


def test_a_canonical_order_is_masked_and_erased_by_key() -> None:
    payload = {
        "order_id": "000000042",
        "customer": {"email": "ann.smith@example.co.uk", "first_name": "Ann", "last_name": "Smith"},
        "billing_address": {
            "first_name": "Ann",
            "last_name": "Smith",
            "street": ["Flat 2", "10 Downing Street"],
            "city": "London",
            "postcode": "SW1A 2AA",
            "country": "GB",
            "phone": "020 7946 0958",
            "email": "ann.smith@example.co.uk",
        },
        "lines": [{"sku": "WS12-M", "name": "Radiant Tee", "qty": "1"}],
        "grand_total": "22.00",
    }
    masked = mask_payload(payload)
    assert masked["customer"] == {"email": "a***@e***.co.uk", "first_name": "A***", "last_name": "S***"}
    assert masked["billing_address"]["street"] == ["***[6]", "***[17]"]
    assert masked["billing_address"]["postcode"] == "SW1A ***"
    assert masked["lines"] == payload["lines"]  # a product's name is not a person's
    erased = json.dumps(erase_payload(payload))
    for gone in ("ann.smith", "Ann", "Smith", "Downing", "7946", "2AA"):
        assert gone not in erased
    assert "000000042" in erased and "22.00" in erased and "Radiant Tee" in erased


def test_the_log_filter_masks_message_args_and_traceback() -> None:
    record = logging.LogRecord(
        "trueup.test", logging.INFO, __file__, 1, "for %s (%s)", ("ann@example.com", "07700 900123"), None
    )
    try:
        raise ValueError("refused ann@example.com")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert PiiFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "ann@example.com" not in text and "900123" not in text
    assert "a***@e***.com" in text and "ValueError" in text


def test_the_log_filter_redacts_secret_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_ERP_TOKEN", "s3cr3t-t0ken-value")
    record = logging.LogRecord(
        "oauthlib", logging.DEBUG, __file__, 1, "params %s", ("s3cr3t-t0ken-value",), None
    )
    assert PiiFilter().filter(record)
    assert record.getMessage() == "params [secret]"


def test_a_huge_hostile_value_is_masked_whole_in_one_linear_pass() -> None:
    # A 100,000-character "street" of spaced digits once made the phone pattern backtrack quadratically and
    # hung the order pass that quoted it; the patterns' repeats are bounded now. Nothing is cut: log lines
    # are masked whole and must stay the JSON they were.
    hostile = "07700 900123 " + "1 " * 50_000
    shown = mask_text(hostile)
    assert "900123" not in shown and shown.startswith("***")  # masked, the run of digits with it
    assert mask_text("x@" + "a." * 50_000).startswith("x***@a***.a.a.")  # the address part masked, once
