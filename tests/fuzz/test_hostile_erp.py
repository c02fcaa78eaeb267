"""Hostile answers from each ERP connector: what the mapping reads either becomes a record or raises one of
trueup's own errors (or the module's documented one: `MalformedFile`, `RowError`, `MalformedResponse`),
never a bare KeyError, TypeError or lxml error out of a worker."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.fuzz.hostile import DELETE, HUGE, NUMBER_EDGES, UNICODE_EDGES, hostile_values, mutate, paths
from trueup.connectors.files import rows as file_rows
from trueup.connectors.files.profile import (
    FILES_PROFILE,
    MERRET_PROFILE,
    Format,
    MalformedFile,
    RecordKind,
    Row,
)
from trueup.connectors.prima import mapping as prima
from trueup.connectors.prima.xml import MalformedResponse, parse_response
from trueup.connectors.rest import mapping as rest
from trueup.connectors.stokly import mapping as stokly
from trueup.errors import TrueupError

FUZZ = settings(max_examples=60, deadline=None)
NOW = datetime(2026, 11, 29, 9)

# One plausible record per reader: hypothesis breaks it field by field.
STOKLY: dict[str, tuple[Callable[[Any], object], dict[str, Any]]] = {
    "item": (stokly.to_item, {"sku": "MUG-1", "itemId": "i1", "barcodes": ["501"], "status": "active"}),
    "price": (
        lambda raw: stokly.to_price(raw, field="salePrice", currency="GBP"),
        {"sku": "MUG-1", "salePrice": "9.99"},
    ),
    "stock": (
        lambda raw: stokly.stock_levels([raw], allocated_field="allocated", bin_id="", as_of=NOW),
        {"itemId": "i1", "locationId": "l1", "itemSku": "MUG-1", "onHand": 5, "allocated": 1},
    ),
    "despatch": (
        lambda raw: stokly.to_despatch(raw, "000000007", {"1": "MUG-1"}),
        {
            "shipmentId": "s1",
            "createdAt": "2026-11-23T10:00:00Z",
            "items": [{"lineId": "1", "quantity": 2}],
            "trackingNumbers": ["T1"],
        },
    ),
    "ledger": (
        lambda raw: stokly.to_ledger_entry(
            raw, stokly.LedgerKind.INVOICE, id_field="invoiceId", date_field="date", order_id="7"
        ),
        {"invoiceId": "inv1", "date": "2026-11-23", "total": "12.00", "tax": "2.00", "currency": "GBP"},
    ),
}
REST: dict[str, tuple[Callable[[Any], object], dict[str, Any]]] = {
    "item": (rest.to_item, {"sku": "MUG-1", "item_id": "IT-1", "active": True}),
    "stock": (
        rest.to_stock_level,
        {
            "sku": "MUG-1",
            "item_id": "IT-1",
            "location": "MAIN",
            "on_hand": 5,
            "counted_at": "2026-11-23T10:00:00Z",
        },
    ),
    "price": (rest.to_price, {"sku": "MUG-1", "currency": "GBP", "price": "9.99"}),
    "despatch": (
        rest.to_despatch,
        {
            "despatch_id": "D1",
            "external_id": "7",
            "despatched_at": "2026-11-23T10:00:00Z",
            "carrier": "DPD",
            "lines": [{"sku": "MUG-1", "qty": 2}],
        },
    ),
    "ledger": (
        rest.to_ledger_entry,
        {
            "kind": "invoice",
            "document_id": "I1",
            "posted_on": "2026-11-23",
            "currency": "GBP",
            "net": "10",
            "tax": "2",
            "gross": "12",
        },
    ),
}
READERS = {f"stokly-{k}": v for k, v in STOKLY.items()} | {f"rest-{k}": v for k, v in REST.items()}


@st.composite
def hostile_records(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(sorted(READERS)))
    record = copy.deepcopy(READERS[name][1])
    for _ in range(draw(st.integers(1, 3))):
        where = paths(record) or [("sku",)]
        mutate(record, draw(st.sampled_from(where)), draw(st.one_of(st.just(DELETE), hostile_values())))
    return name, record


@pytest.mark.parametrize("name", sorted(READERS))
def test_each_plausible_erp_record_is_read(name: str) -> None:
    read, record = READERS[name]
    assert read(copy.deepcopy(record)) is not None


@FUZZ
@given(hostile_records())
@example(("rest-stock", {**REST["stock"][1], "on_hand": [1]}))
@example(("rest-price", {**REST["price"][1], "price": "NaN"}))
@example(("rest-item", {}))
@example(("stokly-stock", {**STOKLY["stock"][1], "onHand": {"a": 1}}))
@example(("stokly-price", {**STOKLY["price"][1], "salePrice": 1.5}))
@example(("stokly-despatch", {**STOKLY["despatch"][1], "createdAt": HUGE}))
def test_a_hostile_stokly_or_rest_record_raises_only_trueup_errors(case: tuple[str, dict[str, Any]]) -> None:
    name, record = case
    try:
        READERS[name][0](record)
    except TrueupError as exc:
        assert "Resolution:" in str(exc)


# --- files: CSV and XML bytes, and the row readers ------------------------------------------------------

ITEM_ROWS = [{"item_id": "IT-1", "sku": "MUG-1", "barcode": "501", "name": "Mug", "active": "1"}]
XML_FILES = FILES_PROFILE.with_overrides(format=Format.XML)
PROFILES = {"csv": FILES_PROFILE, "merret": MERRET_PROFILE, "xml": XML_FILES}
FILE_ERRORS = (MalformedFile, file_rows.RowError, TrueupError)

# Text that XML can carry (no NUL, no lone surrogates), at its worst.
XML_TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40),
    st.sampled_from([t for t in UNICODE_EDGES if "\x00" not in t and "\r" not in t]),
    st.sampled_from([str(n) for n in NUMBER_EDGES if not isinstance(n, int) or abs(n) < 10**100]),
    st.just(HUGE),
)


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(PROFILES)))
    good = PROFILES[name].dump(RecordKind.ITEM, ITEM_ROWS)
    how = draw(st.sampled_from(["bytes", "cut", "splice", "cell"]))
    if how == "bytes":
        return name, draw(st.binary(max_size=300))
    if how == "cut":  # half-written
        return name, good[: draw(st.integers(0, len(good)))]
    if how == "splice":  # hostile bytes put in the middle
        at = draw(st.integers(0, len(good)))
        return name, good[:at] + draw(st.binary(min_size=1, max_size=50)) + good[at:]
    row = dict(ITEM_ROWS[0])
    row[draw(st.sampled_from(sorted(row)))] = draw(XML_TEXT)
    return name, PROFILES[name].dump(RecordKind.ITEM, [row])


@FUZZ
@given(hostile_files())
@example(("csv", b"\xff\xfe\x00"))
@example(("csv", b"item_id,sku\n" + HUGE.encode() + b"\n"))
@example(("xml", b"<?xml version='1.0'?><Items><Item><item_id>1</item_id></Item></Items>"))
@example(("xml", b"<Items>" + b"<Item>" * 300))
def test_a_hostile_erp_file_is_read_or_refused_as_malformed(case: tuple[str, bytes]) -> None:
    name, data = case
    try:
        rows = PROFILES[name].load(RecordKind.ITEM, data)
    except FILE_ERRORS:
        return
    for row in rows:  # and each row's values read back through the row readers
        for read in (file_rows.text, file_rows.integer, file_rows.decimal, file_rows.moment):
            for column in row.values:
                with contextlib.suppress(FILE_ERRORS):
                    read(row, column)


@FUZZ
@given(st.sampled_from(["integer", "decimal", "moment", "text"]), st.one_of(XML_TEXT, st.text(max_size=20)))
@example("decimal", "NaN")
@example("decimal", "1E+999999")
@example("integer", "9" * 5000)
@example("moment", "2026-13-45T99:99:99")
def test_a_hostile_file_cell_raises_only_row_errors(reader: str, value: str) -> None:
    read = getattr(file_rows, reader)
    with contextlib.suppress(FILE_ERRORS):
        read(Row(1, {"cell": value}), "cell")


# --- Prima: the response envelope and each reader ---------------------------------------------------------

PRIMA: dict[str, tuple[Callable[[Any], object], dict[str, str]]] = {
    "Item": (prima.to_item, {"SKU": "MUG-1", "ItemCode": "IT-1", "Status": "Active"}),
    "Stock": (
        lambda e: prima.to_stock_level(e, NOW),
        {"SKU": "MUG-1", "ItemCode": "IT-1", "Warehouse": "MAIN", "OnHand": "5"},
    ),
    "Price": (prima.to_price, {"SKU": "MUG-1", "Currency": "GBP", "Price": "9.99", "PriceType": "Base"}),
    "Document": (
        prima.to_ledger_entry,
        {
            "Type": "Invoice",
            "DocumentNumber": "I1",
            "Currency": "GBP",
            "Net": "10",
            "Tax": "2",
            "Gross": "12",
            "PostedDate": "2026-11-23",
            "WebOrderRef": "7",
        },
    ),
}
# The connector turns MalformedResponse and any ValueError into a Fatal naming the request (`_rows`).
PRIMA_ERRORS = (MalformedResponse, ValueError, TrueupError)


@FUZZ
@given(st.sampled_from(sorted(PRIMA)), st.data())
@example("Price", None)
@example("Stock", None)
def test_a_hostile_prima_record_raises_only_malformed_response(tag: str, data: st.DataObject | None) -> None:
    read, attrs = PRIMA[tag]
    attrs = dict(attrs)
    if data is None:  # the regression examples: NaN and a 5,000-digit quantity
        attrs.update({"Price": "NaN", "OnHand": "9" * 5000})
    else:
        for _ in range(data.draw(st.integers(1, 3))):
            key = data.draw(st.sampled_from(sorted(attrs)))
            if data.draw(st.booleans()):
                del attrs[key]
            else:
                attrs[key] = data.draw(XML_TEXT)
    element = etree.Element(tag, attrs)
    with contextlib.suppress(PRIMA_ERRORS):
        read(element)


@FUZZ
@given(st.binary(max_size=300))
@example(b"<Response RequestType='Items' Status='OK'>" * 50)
def test_hostile_prima_bytes_are_a_malformed_response(raw: bytes) -> None:
    with contextlib.suppress(MalformedResponse, TrueupError):
        parse_response(raw, "Items")


@pytest.mark.parametrize("tag", sorted(PRIMA))
def test_each_plausible_prima_record_is_read(tag: str) -> None:
    read, attrs = PRIMA[tag]
    assert read(etree.Element(tag, attrs)) is not None
