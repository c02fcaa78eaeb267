"""Reading a store's item master CSV for `trueup sandbox serve`: every bad row is named, none is dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from trueup.sandbox.item_master import ItemMasterError, read_item_master


def _csv(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "items.csv"
    path.write_text(text, encoding=encoding)
    return path


def test_columns_in_any_order_with_defaults_for_what_is_left_out(tmp_path: Path) -> None:
    path = _csv(tmp_path, "\ufeffactive,sku,name\n,A-1,Shirt\nD,B-2,Scarf\nYes,C-3,\n")
    assert read_item_master(path) == [
        {"item_id": "IT-000001", "sku": "A-1", "barcode": "", "name": "Shirt", "active": True},
        {"item_id": "IT-000002", "sku": "B-2", "barcode": "", "name": "Scarf", "active": False},
        {"item_id": "IT-000003", "sku": "C-3", "barcode": "", "name": "", "active": True},
    ]


def test_given_item_ids_are_kept_and_generated_ones_never_collide_with_them(tmp_path: Path) -> None:
    path = _csv(tmp_path, "sku,item_id\nA-1,IT-000001\nB-2,\n")
    assert [i["item_id"] for i in read_item_master(path)] == ["IT-000001", "IT-000002"]


def test_merret_item_ids_are_14_digit_pids(tmp_path: Path) -> None:
    path = _csv(tmp_path, "sku,item_id\nA-1,20000000000042\nB-2,\n")
    assert [i["item_id"] for i in read_item_master(path, erp_kind="merret")] == [
        "20000000000042",
        "10000000000001",
    ]
    bad = _csv(tmp_path, "sku,item_id\nA-1,IT-1\n")
    with pytest.raises(ItemMasterError, match=r"line 2, column item_id: Merret PID 'IT-1'"):
        read_item_master(bad, erp_kind="merret")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("sku,name\nA-1,x\n,y\n", r"line 3, column sku: empty"),
        ("sku\nA-1\nA-1\n", r"line 3, column sku: 'A-1' is already on line 2"),
        ("sku,item_id\nA-1,X\nB-2,X\n", r"line 3, column item_id: 'X' is already on line 2"),
        ("sku,barcode\nA-1,5012345678901\n", r"line 2, column barcode: .* check digit 1; GS1 gives 0"),
        ("sku,barcode\nA-1,12345\n", r"line 2, column barcode: .* not an EAN-13 or GTIN-14"),
        ("sku,active\nA-1,maybe\n", r"line 2, column active: 'maybe'"),
        ("sku\nA-1,extra\n", r"line 2: more cells than the header"),
        ("sku,barcde\nA-1,5012345678900\n", r"line 1: unknown column\(s\) barcde"),
        ("name\nShirt\n", r"line 1: no `sku` column"),
        ("sku\n", r"no items under the header"),
    ],
)
def test_a_bad_file_is_refused_naming_the_line_and_column(tmp_path: Path, text: str, error: str) -> None:
    path = _csv(tmp_path, text)
    with pytest.raises(ItemMasterError, match=error) as caught:
        read_item_master(path)
    assert str(path) in str(caught.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, "sku,name\nA-1,Caf\u00e9\n", encoding="latin-1")
    with pytest.raises(ItemMasterError, match="not UTF-8"):
        read_item_master(path)
