"""Profiles: rows ⇄ CSV or XML with the configured column names; an unusable file is refused whole."""

from __future__ import annotations

import re

import pytest

from trueup.connectors.files.profile import (
    FILES_PROFILE,
    MERRET_PROFILE,
    Format,
    MalformedFile,
    RecordKind,
)

ROWS = [
    {"item_id": "10000000000001", "sku": "TU0001-M-Navy", "barcode": "5012345678900", "name": "Tee, navy"},
    {"item_id": "10000000000002", "sku": "TU0002", "barcode": "", "name": 'Cap "classic"'},
]


@pytest.mark.parametrize("fmt", [Format.CSV, Format.XML])
def test_rows_round_trip_through_either_format_with_overridden_columns(fmt: Format) -> None:
    profile = MERRET_PROFILE.with_overrides(format=fmt, columns={"sku": "WEB_SKU"})
    data = profile.dump(RecordKind.ITEM, ROWS)
    assert b"WEB_SKU" in data and b"PID" in data
    rows = profile.load(RecordKind.ITEM, data)
    assert [r.values["sku"] for r in rows] == ["TU0001-M-Navy", "TU0002"]
    assert rows[1].values["name"] == 'Cap "classic"'
    assert rows[0].number == (2 if fmt == Format.CSV else 1)


def test_the_merret_profile_names_columns_the_merret_way() -> None:
    header = MERRET_PROFILE.dump(RecordKind.ITEM, []).decode().splitlines()[0]
    assert header == "PID,SKU,BARCODE,DESCRIPTION,STATUS"
    assert (
        FILES_PROFILE.dump(RecordKind.ITEM, []).decode().splitlines()[0] == "item_id,sku,barcode,name,active"
    )


def test_a_csv_cut_off_mid_row_is_half_written() -> None:
    data = FILES_PROFILE.dump(RecordKind.STOCK, [{"item_id": "A", "location": "WEB", "on_hand": "3"}])
    with pytest.raises(MalformedFile, match="half-written"):
        FILES_PROFILE.load(RecordKind.STOCK, data[:-3])


def test_xml_cut_off_is_refused() -> None:
    profile = FILES_PROFILE.with_overrides(format=Format.XML)
    data = profile.dump(RecordKind.STOCK, [{"item_id": "A", "location": "WEB", "on_hand": "3"}])
    with pytest.raises(MalformedFile, match="not well-formed"):
        profile.load(RecordKind.STOCK, data[: len(data) // 2])


def test_a_missing_required_column_is_named() -> None:
    with pytest.raises(MalformedFile, match="on_hand"):
        FILES_PROFILE.load(RecordKind.STOCK, b"item_id,location\nA,WEB\n")


def test_a_row_with_the_wrong_number_of_fields_is_named() -> None:
    with pytest.raises(MalformedFile, match="row 3 has 2 fields"):
        FILES_PROFILE.load(RecordKind.STOCK, b"item_id,location,on_hand\nA,WEB,1\nB,WEB\n")


def test_an_unknown_field_or_a_bad_xml_name_in_the_column_map_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown field 'colour'"):
        FILES_PROFILE.with_overrides(columns={"colour": "COLOUR"})
    with pytest.raises(ValueError, match="not a valid XML element name"):
        FILES_PROFILE.with_overrides(format=Format.XML, columns={"sku": "web sku"})


def test_outbound_names_are_made_safe_from_the_storefront_id() -> None:
    assert FILES_PROFILE.outbound_name(RecordKind.SALES_ORDER, "000000101") == "SO_000000101.csv"
    cleaned = FILES_PROFILE.outbound_name(RecordKind.CREDIT_NOTE, "CM/1 2")
    assert cleaned.startswith("CN_CM_1_2~") and cleaned.endswith(".csv")


def test_ids_that_clean_up_alike_still_get_their_own_file() -> None:
    """The file name is the ERP reference: `A/1` and `A_1` once both became SO_A_1.csv, and the second
    link broke the (erp, kind, erp_ref) key on every later run."""
    ids = ["A/1", "A_1", "A 1", "A\\1", "A:1", "a/1", "A/1 ", "Ä/1"]
    names = {FILES_PROFILE.outbound_name(RecordKind.SALES_ORDER, i) for i in ids}
    assert len(names) == len(ids)
    assert all(re.fullmatch(r"SO_[A-Za-z0-9._~-]+\.csv", n) for n in names)


def test_csv_cells_a_spreadsheet_would_run_are_neutralised_by_default() -> None:
    """OWASP's CSV injection rule: ERP files get opened in Excel."""
    rows = [
        {"order_id": "1", "customer_name": '=cmd|" /C calc"!A0', "bill_address_1": '=HYPERLINK("http://x")'},
        {
            "order_id": "2",
            "customer_name": "@SUM(1)",
            "bill_address_1": "Flat 2\nHigh St",
            "discount_total": "-5.00",
        },
    ]
    text = FILES_PROFILE.dump(RecordKind.SALES_ORDER, rows).decode()
    assert "'=cmd" in text and "'=HYPERLINK" in text and "'@SUM" in text
    assert "Flat 2 High St" in text and ",-5.00," in text  # one line per row; numbers stay numbers
    assert len(text.splitlines()) == 3
    raw = FILES_PROFILE.with_overrides(neutralise_formulas=False).dump(RecordKind.SALES_ORDER, rows[:1])
    assert "'=cmd" not in raw.decode()
