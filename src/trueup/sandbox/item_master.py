"""A real store's item master, read from a CSV, for a sandbox ERP (`trueup sandbox serve --items`).

Columns (a header row names them, in any order; UTF-8, a leading byte-order mark is allowed):
- `sku` (required): the SKU the storefront sells it under, unique in the file;
- `name`: the ERP's description;
- `barcode`: an EAN-13 or GTIN-14 with a valid GS1 check digit (a UPC-A is written with a leading 0);
- `active`: `true/false`, `yes/no`, `y/n`, `1/0` or `A/D` (any case); empty means active;
- `item_id`: the ERP's own item id, unique in the file; empty gives `IT-000001`, … in row order. For
  Merret it is the 14-digit PID.

Any bad row stops the load with an error naming the file, the line (the header is line 1) and the column:
a sandbox that quietly dropped rows would make the store's orders park for the wrong reason.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

__all__ = ["COLUMNS", "ItemMasterError", "read_item_master"]

COLUMNS = ("sku", "name", "barcode", "active", "item_id")
_ACTIVE = {"true": True, "yes": True, "y": True, "1": True, "a": True, "": True}
_INACTIVE = {"false": False, "no": False, "n": False, "0": False, "d": False}
_PID_LENGTH = 14


class ItemMasterError(ValueError):
    """The CSV cannot be used as an item master; the message names the file, line and column."""


def _gs1_check_digit(body: str) -> int:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def _barcode_problem(value: str) -> str:
    if not value.isascii() or not value.isdigit() or len(value) not in (13, 14):
        return f"barcode {value!r} is not an EAN-13 or GTIN-14 (13 or 14 digits)"
    if int(value[-1]) != (expected := _gs1_check_digit(value[:-1])):
        return f"barcode {value!r} has check digit {value[-1]}; GS1 gives {expected}"
    return ""


def _row(raw: dict[str, str], line: int, *, merret: bool) -> dict[str, Any]:
    def cell(name: str) -> str:
        return (raw.get(name) or "").strip()

    sku, barcode, active, item_id = cell("sku"), cell("barcode"), cell("active").lower(), cell("item_id")
    if not sku:
        raise ItemMasterError(f"line {line}, column sku: empty; every item needs the SKU the store sells")
    if barcode and (problem := _barcode_problem(barcode)):
        raise ItemMasterError(f"line {line}, column barcode: {problem}")
    if active not in _ACTIVE and active not in _INACTIVE:
        raise ItemMasterError(
            f"line {line}, column active: {cell('active')!r}; expected true/false, yes/no, 1/0 or A/D"
        )
    if merret and item_id and (len(item_id) != _PID_LENGTH or not item_id.isdigit()):
        raise ItemMasterError(f"line {line}, column item_id: Merret PID {item_id!r} is not exactly 14 digits")
    return {
        "item_id": item_id,
        "sku": sku,
        "barcode": barcode,
        "name": cell("name"),
        "active": _ACTIVE.get(active, False),
    }


def read_item_master(path: Path, *, erp_kind: str = "rest") -> list[dict[str, Any]]:
    """The items of the CSV at `path`, as `ErpSandbox.load_items` takes them; `ItemMasterError` if any row
    is bad, the file is empty, or a column is unknown (a misspelt `barcode` would otherwise go unread)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ItemMasterError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ItemMasterError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = [name.strip() for name in reader.fieldnames or []]
    if "sku" not in header:
        raise ItemMasterError(f"{path}, line 1: no `sku` column; the columns are {', '.join(COLUMNS)}")
    if unknown := [name for name in header if name not in COLUMNS]:
        raise ItemMasterError(
            f"{path}, line 1: unknown column(s) {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}"
        )
    reader.fieldnames = header
    items: list[dict[str, Any]] = []
    first_line: dict[tuple[str, str], int] = {}
    try:
        for raw in reader:
            line = reader.line_num
            if None in raw:
                raise ItemMasterError(f"line {line}: more cells than the header has columns")
            item = _row(raw, line, merret=erp_kind == "merret")
            for key in ("sku", "item_id"):
                if item[key] and (earlier := first_line.setdefault((key, item[key]), line)) != line:
                    raise ItemMasterError(
                        f"line {line}, column {key}: {item[key]!r} is already on line {earlier}"
                    )
            items.append(item)
    except ItemMasterError as exc:
        raise ItemMasterError(f"{path}, {exc}") from None
    except csv.Error as exc:
        raise ItemMasterError(f"{path}, line {reader.line_num}: {exc}") from None
    if not items:
        raise ItemMasterError(f"{path}: no items under the header")
    taken = {item["item_id"] for item in items}
    number = 0
    for item in items:
        while not item["item_id"]:
            number += 1
            candidate = f"IT-{number:06d}" if erp_kind != "merret" else f"10{number:012d}"
            item["item_id"] = candidate if candidate not in taken else ""
    return items
