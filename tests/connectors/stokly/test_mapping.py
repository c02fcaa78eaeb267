"""Stokly's wire shapes, pure: the grant signature, token expiry, filters, items, stock across bins, sale
order bodies, adjustment reasons and pacing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.connectors.stokly.test_connector import order
from trueup.connectors.stokly.client import Pacing, equals, parse_expiry, signature
from trueup.connectors.stokly.mapping import (
    adjustment_reason,
    sale_order_body,
    stock_levels,
    to_item,
    to_price,
)
from trueup.sandbox.stokly import matches, parse_filter
from trueup.sandbox.stokly_app import WireError

D = Decimal
ISSUED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_the_signature_is_the_hex_hmac_sha256_of_the_client_id_keyed_by_the_secret() -> None:
    # RFC-style known vector: HMAC-SHA256(key="key", msg="The quick brown fox jumps over the lazy dog").
    assert signature("key", "The quick brown fox jumps over the lazy dog") == (
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


@pytest.mark.parametrize(
    ("expiry", "expected"),
    [
        ("2026-11-27T10:00:00.000Z", datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
        ("2026-11-27T10:00:00", datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
        (1795770000, datetime.fromtimestamp(1795770000, UTC)),
        (1795770000000, datetime.fromtimestamp(1795770000, UTC)),
        ("soon", ISSUED),
        (None, ISSUED),
        (True, ISSUED),
    ],
)
def test_an_expiry_is_read_as_iso_or_epoch_and_anything_else_counts_as_expired(
    expiry: object, expected: datetime
) -> None:
    assert parse_expiry(expiry, ISSUED) == expected


def test_filters_quote_strings_and_refuse_braces() -> None:
    assert equals("sourceReferenceId", "000000101") == "[sourceReferenceId]=={@string;000000101}"
    with pytest.raises(ValueError, match="braces"):
        equals("sku", "A}B")


def test_the_emulator_reads_and_before_or_with_nulls_and_dates() -> None:
    groups = parse_filter("[sku]=={@string;A}&&[name]!={@null;}||[createdAt]>={@date;2026-11-27T00:00:00Z}")
    assert matches({"sku": "A", "name": "x"}, groups)
    assert not matches({"sku": "A", "name": None}, groups)
    assert matches({"sku": "B", "createdAt": "2026-11-27T09:00:00.000Z"}, groups)
    assert not matches({"sku": "B", "createdAt": "2026-11-26T23:59:59.999Z"}, groups)
    assert matches({"reason": "x [trueup:CM-1#1]"}, parse_filter("[reason]=={@string;x [trueup:CM-1#1]}"))
    with pytest.raises(WireError):
        parse_filter("[sku]={A}")


def test_an_item_is_sellable_only_when_active_and_keeps_its_first_barcode() -> None:
    raw = {"itemId": "u1", "sku": "TEE", "name": "Tee", "status": "active", "barcodes": ["501", "502"]}
    item = to_item(raw)
    assert (item.erp_item_id, item.sku, item.barcode, item.active) == ("u1", "TEE", "501", True)
    assert to_item({**raw, "status": "discontinued", "barcodes": [{"barcode": "9"}]}).barcode == "9"
    assert to_item({**raw, "status": "discontinued"}).active is False


def test_a_price_is_a_decimal_in_the_account_currency_and_absent_when_unset() -> None:
    price = to_price({"sku": "TEE", "salePrice": D("19.99")}, field="salePrice", currency="GBP")
    assert price is not None and (price.price, price.currency) == (D("19.99"), "GBP")
    assert to_price({"sku": "TEE", "salePrice": None}, field="salePrice", currency="GBP") is None


def test_bins_of_one_location_add_up_and_allocated_comes_from_the_configured_field() -> None:
    rows = [
        {"itemId": "u1", "itemSku": "TEE", "locationId": "L", "binId": "UNASSIGNED", "onHand": 4, "held": 3},
        {"itemId": "u1", "itemSku": "TEE", "locationId": "L", "binId": "A1", "onHand": 6, "quarantined": 2},
    ]
    [level] = stock_levels(rows, allocated_field="held", bin_id="", as_of=datetime(2026, 11, 27))
    assert (level.on_hand, level.allocated, level.quarantined) == (10, 3, 2)
    [only] = stock_levels(rows, allocated_field="", bin_id="A1", as_of=datetime(2026, 11, 27))
    assert (only.on_hand, only.allocated) == (6, 0)


def test_a_sale_order_body_balances_each_line_and_folds_the_street() -> None:
    body = sale_order_body(order(), location_id="L1", source_type="trueup", source_id="magento")
    assert (body["stage"], body["locationId"], body["sourceReferenceId"]) == ("order", "L1", "100001")
    assert body["shipping"]["address"]["line1"] == "Flat 2"
    assert body["shipping"]["address"]["line2"] == "10 High Street"
    assert body["shipping"]["option"] == "RM/TRACKED48"
    for line in body["items"]:
        assert all(isinstance(line[k], Decimal) for k in ("displayPrice", "displayTax", "displayLineTotal"))
        total = line["displayPrice"] * line["quantity"] - line["displayDiscount"] + line["displayTax"]
        assert total == line["displayLineTotal"]
    gross = sum(line["displayLineTotal"] for line in body["items"]) + body["shipping"]["cost"]
    assert gross == body["payments"][0]["amount"] == D("51.95")


def test_an_adjustment_reason_carries_a_findable_tag_without_braces() -> None:
    assert adjustment_reason("restock {web}", "CM-1", 2) == "restock (web) [trueup:CM-1#2]"


@pytest.mark.parametrize(("remaining", "delay"), [(None, 0.0), (500, 0.0), (20, 0.0), (19, 3.0), (0, 60.0)])
def test_pacing_spreads_the_last_calls_of_the_window(remaining: int | None, delay: float) -> None:
    assert Pacing(below=20, window_seconds=60).delay(remaining) == delay
