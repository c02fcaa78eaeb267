"""A file ERP's profile: which records it exchanges, what each file's columns are called, and CSV or XML.

Every record is a flat row of named fields (a sales order is one row per line, its header fields repeated),
so one column map serves both formats: a CSV header, or the child elements of an XML row element. Two
default profiles are documented in docs/connectors/files.md: a neutral one for the generic files ERP and a
Merret one (14-digit PID as the item key, upper-case column names). `[erp.<kind>] columns` overrides any
column name.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from lxml import etree

from trueup.connectors.safexml import UnsafeXml, parse_untrusted, untrusted_parser

__all__ = [
    "FIELDS",
    "FILES_PROFILE",
    "MERRET_PROFILE",
    "REQUIRED",
    "Format",
    "MalformedFile",
    "Profile",
    "RecordKind",
    "Row",
]


class RecordKind(StrEnum):
    ITEM = "item"
    STOCK = "stock"
    PRICE = "price"
    DESPATCH = "despatch"
    LEDGER = "ledger"
    SALES_ORDER = "sales_order"
    CREDIT_NOTE = "credit_note"
    ACK = "ack"  # the ERP's acknowledgement of files trueup wrote (profiles with acknowledgement="file")


class Format(StrEnum):
    CSV = "csv"
    XML = "xml"


_ADDRESS = ("name", "company", "address_1", "address_2", "address_3", "city", "region", "postcode", "country")

# The canonical fields of each record, in file order. `item_id` is the ERP's item key (Merret: the PID).
FIELDS: dict[RecordKind, tuple[str, ...]] = {
    RecordKind.ITEM: ("item_id", "sku", "barcode", "name", "active"),
    RecordKind.STOCK: ("item_id", "sku", "location", "on_hand", "allocated", "quarantined", "on_order"),
    RecordKind.PRICE: ("item_id", "sku", "currency", "price"),
    RecordKind.DESPATCH: (
        "despatch_id",
        "order_id",
        "erp_order_ref",
        "despatched_at",
        "carrier",
        "service",
        "tracking",
        "item_id",
        "sku",
        "qty",
        "order_status",  # the sales order's status as this despatch left it (optional)
    ),
    RecordKind.LEDGER: (
        "document_type",
        "document_id",
        "order_id",
        "posted_on",
        "currency",
        "net",
        "tax",
        "gross",
    ),
    RecordKind.SALES_ORDER: (
        "order_id",
        "order_date",
        "currency",
        "customer_email",
        "customer_name",
        *(f"bill_{f}" for f in _ADDRESS),
        "bill_phone",
        "bill_email",
        *(f"ship_{f}" for f in _ADDRESS),
        "ship_phone",
        "ship_email",
        "carrier",
        "service",
        "payment_method",
        "payment_reference",
        "tax_mode",
        "shipping_net",
        "shipping_tax",
        "discount_total",
        "tax_total",
        "grand_total",
        "line_no",
        "item_id",
        "sku",
        "description",
        "qty",
        "unit_price",
        "net",
        "discount",
        "tax",
        "tax_rate",
        "gross",
    ),
    RecordKind.CREDIT_NOTE: (
        "credit_note_id",
        "order_id",
        "erp_order_ref",
        "created_at",
        "currency",
        "reason",
        "shipping_net",
        "shipping_tax",
        "adjustment",
        "total",
        "line_no",
        "item_id",
        "sku",
        "qty",
        "net",
        "tax",
        "tax_rate",
        "gross",
        "restock",
    ),
    RecordKind.ACK: ("file", "status", "message"),
}

# The fields a file must have a column for; the others may be left out.
REQUIRED: dict[RecordKind, tuple[str, ...]] = {
    RecordKind.ITEM: ("item_id", "sku"),
    RecordKind.STOCK: ("item_id", "location", "on_hand"),
    RecordKind.PRICE: ("item_id", "currency", "price"),
    RecordKind.DESPATCH: ("despatch_id", "order_id", "despatched_at", "carrier", "item_id", "qty"),
    RecordKind.LEDGER: FIELDS[RecordKind.LEDGER],
    RecordKind.SALES_ORDER: ("order_id", "item_id", "qty"),
    RecordKind.CREDIT_NOTE: ("credit_note_id", "order_id", "item_id", "qty"),
    RecordKind.ACK: ("file", "status"),
}

# File name prefixes: outbound files are <prefix>_<storefront id>.<ext>; inbound ones
# <prefix>_<YYYYMMDDTHHMMSS>[_<anything>].<ext> (the ledger: <prefix>_<YYYYMMDD>[_<anything>].<ext>).
_PREFIXES: dict[RecordKind, str] = {
    RecordKind.ITEM: "ITEMS",
    RecordKind.STOCK: "STOCK",
    RecordKind.PRICE: "PRICES",
    RecordKind.DESPATCH: "DESPATCH",
    RecordKind.LEDGER: "LEDGER",
    RecordKind.SALES_ORDER: "SO",
    RecordKind.CREDIT_NOTE: "CN",
    RecordKind.ACK: "ACK",
}

# XML: the root element and the element of each row.
_XML_ELEMENTS: dict[RecordKind, tuple[str, str]] = {
    RecordKind.ITEM: ("Items", "Item"),
    RecordKind.STOCK: ("StockSnapshot", "StockLevel"),
    RecordKind.PRICE: ("Prices", "Price"),
    RecordKind.DESPATCH: ("DespatchAdvice", "Line"),
    RecordKind.LEDGER: ("Ledger", "Document"),
    RecordKind.SALES_ORDER: ("SalesOrder", "Line"),
    RecordKind.CREDIT_NOTE: ("CreditNote", "Line"),
    RecordKind.ACK: ("Acknowledgements", "Ack"),
}

_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class Row:
    number: int
    values: dict[str, str]

    def get(self, canonical: str) -> str:
        return self.values.get(canonical, "")


class MalformedFile(ValueError):
    """The whole file is unusable (half-written, not CSV/XML, a required column missing)."""


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def neutralise(cell: str) -> str:
    """A cell no spreadsheet runs as a formula (`=cmd|...`, `=HYPERLINK(...)`), on one line. Numbers such as
    `-5.00` are left as they are: they are data, and the ERP must read them as numbers."""
    if _NUMBER.match(cell):
        return cell
    if cell.startswith(_FORMULA_START):
        cell = "'" + cell
    return cell.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    item_key: Literal["pid", "item_id"]  # "pid": item ids are Merret PIDs, validated as 14 digits
    format: Format = Format.CSV
    columns: Mapping[str, str] = field(default_factory=dict)  # canonical field -> column name
    delimiter: str = ","
    encoding: str = "utf-8"
    prefixes: Mapping[RecordKind, str] = field(default_factory=lambda: dict(_PREFIXES))
    tracking_separator: str = "|"
    # How the ERP says it took or refused a file trueup wrote: "moved" (out of outbound/pending/ into
    # done/ or error/) or "file" (an ACK_ file in inbound/ names it). docs/connectors/files.md.
    acknowledgement: Literal["moved", "file"] = "moved"
    # OWASP's CSV injection rule: a text cell that a spreadsheet would run as a formula is written with a
    # leading ' (ERP files are opened in Excel), and a line break in a cell becomes a space.
    neutralise_formulas: bool = True
    # A despatch whose `order_status` is one of these closes its order: what is not shipped by then was
    # short-shipped (compared upper-cased; docs/connectors/files.md).
    closed_statuses: tuple[str, ...] = ("COMPLETE", "CLOSED", "C")

    def with_overrides(
        self,
        *,
        format: Format | None = None,
        columns: Mapping[str, str] | None = None,
        delimiter: str | None = None,
        encoding: str | None = None,
        acknowledgement: Literal["moved", "file"] | None = None,
        neutralise_formulas: bool | None = None,
    ) -> Profile:
        """This profile with config overrides applied; raises ValueError naming an unknown field."""
        known = {f for fields in FIELDS.values() for f in fields}
        for key, value in (columns or {}).items():
            if key not in known:
                raise ValueError(f"unknown field {key!r}; known fields: {', '.join(sorted(known))}")
            if not value:
                raise ValueError(f"column name for {key!r} is empty")
        profile = Profile(
            self.name,
            self.item_key,
            format or self.format,
            {**self.columns, **(columns or {})},
            delimiter or self.delimiter,
            encoding or self.encoding,
            self.prefixes,
            self.tracking_separator,
            acknowledgement or self.acknowledgement,
            self.neutralise_formulas if neutralise_formulas is None else neutralise_formulas,
            self.closed_statuses,
        )
        if profile.format == Format.XML:
            for key, column in profile.columns.items():
                if not _XML_NAME.match(column):
                    raise ValueError(f"column {column!r} for {key!r} is not a valid XML element name")
        return profile

    @property
    def extension(self) -> str:
        return self.format.value

    def column(self, canonical: str) -> str:
        return self.columns.get(canonical, canonical)

    def prefix(self, kind: RecordKind) -> str:
        return self.prefixes[kind]

    def outbound_name(self, kind: RecordKind, external_id: str) -> str:
        """`SO_<id>.csv`: the storefront id made safe for a file name (it is the idempotency key and the
        ERP reference, so it must be one-to-one). An id that needed cleaning (`A/1`) also carries a hash of
        the raw id after `~`, a character no id kept as it is can hold: `A/1` and `A_1` never share a file."""
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", external_id)
        if safe != external_id:
            safe = f"{safe}~{hashlib.sha256(external_id.encode()).hexdigest()[:12]}"
        return f"{self.prefix(kind)}_{safe}.{self.extension}"

    def is_kind(self, name: str, kind: RecordKind) -> bool:
        return name.startswith(f"{self.prefix(kind)}_") and name.lower().endswith(f".{self.extension}")

    # --- rows ⇄ bytes --------------------------------------------------------------------------------

    def dump(self, kind: RecordKind, rows: Sequence[Mapping[str, str]]) -> bytes:
        fields = FIELDS[kind]
        if self.format == Format.CSV:
            out = io.StringIO()
            writer = csv.writer(out, delimiter=self.delimiter, lineterminator="\n")
            writer.writerow([self.column(f) for f in fields])
            cell = neutralise if self.neutralise_formulas else str
            for row in rows:
                writer.writerow([cell(row.get(f, "")) for f in fields])
            return out.getvalue().encode(self.encoding)
        root = etree.Element(self._root(kind))
        for row in rows:
            element = etree.SubElement(root, self._row(kind))
            for f in fields:
                etree.SubElement(element, self.column(f)).text = row.get(f, "")
        data = etree.tostring(root, xml_declaration=True, encoding=self.encoding, pretty_print=True)
        return data.encode(self.encoding) if isinstance(data, str) else data

    def load(self, kind: RecordKind, data: bytes) -> list[Row]:
        """Every row of the file with its number, keyed by canonical field; raises MalformedFile for an
        unusable file. Numbers are CSV line numbers (the header is 1) or XML row positions (from 1)."""
        if not data.strip():
            raise MalformedFile("the file is empty")
        try:
            text = data.decode(self.encoding)
        except UnicodeDecodeError as exc:
            raise MalformedFile(
                f"the file is not {self.encoding} text ({exc.reason} at byte {exc.start})"
            ) from None
        if self.format == Format.CSV:
            return self._load_csv(kind, text)
        return self._load_xml(kind, data)

    def _check_columns(self, kind: RecordKind, present: set[str]) -> dict[str, str]:
        """column name -> canonical field for the columns this file has; every required one must be there."""
        by_column = {self.column(f): f for f in FIELDS[kind]}
        missing = [self.column(f) for f in REQUIRED[kind] if self.column(f) not in present]
        if missing:
            raise MalformedFile(f"required column(s) missing: {', '.join(missing)}")
        return {c: f for c, f in by_column.items() if c in present}

    def _load_csv(self, kind: RecordKind, text: str) -> list[Row]:
        # The ERP ends every row with a newline; a last row without one means the file was cut off
        # mid-write (an upload that died, or a copy instead of a rename).
        if not text.endswith("\n"):
            raise MalformedFile("the last row has no line ending: the file looks half-written")
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter, strict=True))
        except csv.Error as exc:
            raise MalformedFile(f"not valid CSV: {exc}") from None
        header, body = rows[0], rows[1:]
        fields = self._check_columns(kind, set(header))
        records: list[Row] = []
        for number, row in enumerate(body, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise MalformedFile(f"row {number} has {len(row)} fields; the header has {len(header)}")
            values = {fields[c]: v.strip() for c, v in zip(header, row, strict=True) if c in fields}
            records.append(Row(number, values))
        return records

    def _load_xml(self, kind: RecordKind, data: bytes) -> list[Row]:
        try:
            root = parse_untrusted(data, untrusted_parser())
        except UnsafeXml as exc:
            raise MalformedFile(f"refused: {exc}") from None
        except etree.XMLSyntaxError as exc:
            raise MalformedFile(f"not well-formed XML ({exc}): the file may be half-written") from None
        if root.tag != self._root(kind):
            raise MalformedFile(f"root element is <{root.tag}>; expected <{self._root(kind)}>")
        records: list[Row] = []
        for number, element in enumerate(root, start=1):
            if not isinstance(element.tag, str):
                continue  # a comment or processing instruction
            if element.tag != self._row(kind):
                raise MalformedFile(f"element {number} is <{element.tag}>; expected <{self._row(kind)}>")
            values = {
                str(child.tag): (child.text or "").strip() for child in element if isinstance(child.tag, str)
            }
            try:
                fields = self._check_columns(kind, set(values))
            except MalformedFile as exc:
                raise MalformedFile(f"<{self._row(kind)}> number {number}: {exc}") from None
            records.append(Row(number, {fields[c]: v for c, v in values.items() if c in fields}))
        return records

    def _root(self, kind: RecordKind) -> str:
        return _XML_ELEMENTS[kind][0]

    def _row(self, kind: RecordKind) -> str:
        return _XML_ELEMENTS[kind][1]


FILES_PROFILE = Profile("files", "item_id")

MERRET_PROFILE = Profile(
    "merret",
    "pid",
    columns={
        **{f: f.upper() for fields in FIELDS.values() for f in fields},
        "item_id": "PID",
        "name": "DESCRIPTION",
        "active": "STATUS",
        "order_id": "WEB_ORDER_NO",
        "erp_order_ref": "MERRET_ORDER_NO",
        "location": "BRANCH",
        "tracking": "TRACKING_NO",
    },
)
