"""The files connector over a local folder: idempotent posting that does not rely on the ERP, files that
are parked whole in error/ with a note, item rows refused by row number, and despatch advice read once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.conftest import ITEMS
from tests.contract.test_erp_contract import credit_note, sales_order
from trueup.connectors.files.connector import FilesErp
from trueup.connectors.files.profile import FILES_PROFILE, MERRET_PROFILE, Format, Profile, RecordKind
from trueup.connectors.files.transport import LocalTransport
from trueup.errors import NotReady, Rejected, Skippable
from trueup.model.exceptions import Reason
from trueup.sandbox.merret import FilesSandbox


@pytest.fixture
def sandbox() -> Iterator[FilesSandbox]:
    erp = FilesSandbox(seed=1, enforce_unique=False)
    erp.start()
    erp.load_items(ITEMS)
    yield erp
    erp.stop()


def connector(root: Path, profile: Profile = FILES_PROFILE) -> FilesErp:
    return FilesErp(LocalTransport(root), profile, name="files")


def inbound(root: Path, name: str, text: str) -> None:
    (root / "inbound" / "pending").mkdir(parents=True, exist_ok=True)
    (root / "inbound" / "pending" / name).write_text(text, encoding="utf-8")


async def test_idempotency_holds_when_the_erp_accepts_duplicates(sandbox: FilesSandbox) -> None:
    erp = connector(sandbox.root)
    first = await erp.post_sales_order(sales_order())
    assert sandbox.sales_order_counts() == {"000000101": 1}  # imported: the file is now in done/
    assert (sandbox.root / "outbound" / "done" / first).is_file()
    again = [await erp.post_sales_order(sales_order()) for _ in range(2)]
    assert again == [first, first] and first == "SO_000000101.csv"
    assert sandbox.sales_order_counts() == {"000000101": 1}


async def test_an_order_the_erp_parked_in_error_is_rejected_with_its_reason(sandbox: FilesSandbox) -> None:
    erp = connector(sandbox.root)
    bad = sales_order("000000105")
    line = bad.lines[0].model_copy(update={"erp_item_id": "IT-999999"})
    await erp.post_sales_order(bad.model_copy(update={"lines": (line,)}))
    sandbox.sales_order_counts()
    with pytest.raises(Rejected, match="IT-999999") as caught:
        await erp.find_sales_order("000000105")
    assert "delete outbound/error/SO_000000105.csv" in str(caught.value)


async def test_a_credit_note_waits_for_its_order(sandbox: FilesSandbox) -> None:
    erp = connector(sandbox.root)
    with pytest.raises(NotReady):
        await erp.post_credit_note(credit_note(order_id="000000777"))
    assert sandbox.credit_note_counts() == {}


async def test_a_half_written_stock_file_is_parked_whole_and_the_last_good_snapshot_stands(
    tmp_path: Path,
) -> None:
    good = "item_id,sku,location,on_hand\nIT-1,A,WEB,5\n"
    inbound(tmp_path, "STOCK_20260101T060000.csv", good)
    inbound(tmp_path, "STOCK_20260101T120000.csv", "item_id,sku,location,on_hand\nIT-1,A,WEB,9\nIT-2,B,WE")
    erp = connector(tmp_path)
    snapshots = [s async for s in erp.stock()]
    assert [(lv.sku, lv.on_hand) for s in snapshots for lv in s.levels] == [("A", 5)]
    assert {s.taken_at.isoformat() for s in snapshots} == {"2026-01-01T06:00:00"}  # from the name
    error = tmp_path / "inbound" / "error"
    assert (error / "STOCK_20260101T120000.csv").is_file()
    note = (error / "STOCK_20260101T120000.csv.error.txt").read_text()
    assert "half-written" in note and "Nothing in this file was applied" in note and "Resolution:" in note
    assert [r.name for r in erp.rejected_files] == ["STOCK_20260101T120000.csv"]
    assert (tmp_path / "inbound" / "done" / "STOCK_20260101T060000.csv").is_file()


async def test_a_stock_file_with_one_bad_row_applies_nothing(tmp_path: Path) -> None:
    inbound(
        tmp_path, "STOCK_20260101T060000.csv", "item_id,sku,location,on_hand\nIT-1,A,WEB,5\nIT-2,B,WEB,x\n"
    )
    erp = connector(tmp_path)
    assert [s async for s in erp.stock()] == []
    assert "row 3: on_hand 'x' is not a whole number" in erp.rejected_files[0].reason


async def test_a_stock_file_without_a_time_in_its_name_is_refused(tmp_path: Path) -> None:
    inbound(tmp_path, "STOCK_today.csv", "item_id,sku,location,on_hand\nIT-1,A,WEB,5\n")
    erp = connector(tmp_path)
    assert [s async for s in erp.stock()] == []
    assert "snapshot time" in erp.rejected_files[0].reason


async def test_merret_item_rows_with_a_bad_pid_or_barcode_are_left_out_by_row_number(tmp_path: Path) -> None:
    inbound(
        tmp_path,
        "ITEMS_20260101T060000.csv",
        "PID,SKU,BARCODE,DESCRIPTION,STATUS\n"
        "10000000000001,TU0001,5012345678900,Tee,A\n"
        "1000000000002,TU0002,5012345678917,Cap,A\n"
        "10000000000003,TU0003,5012345678925,Bag,A\n"
        "10000000000004,TU0004,,Old,D\n"
        "10000000000005,TU0001,,Dup,A\n",
    )
    erp = connector(tmp_path, MERRET_PROFILE)
    items = {i.sku: i for page in [p async for p in erp.items()] for i in page}
    assert sorted(items) == ["TU0001", "TU0004"]
    assert items["TU0001"].pid == items["TU0001"].erp_item_id == "10000000000001"
    assert items["TU0004"].active is False and items["TU0004"].barcode is None
    rejected = {r.row: r for r in erp.rejected_rows}
    assert sorted(rejected) == [3, 4, 6]
    assert "not exactly 14 digits" in rejected[3].reason and rejected[3].key == "TU0002"
    assert "check digit" in rejected[4].reason
    assert "already on row 2" in rejected[6].reason


async def test_a_merret_order_line_without_a_pid_is_skipped_naming_the_sku(tmp_path: Path) -> None:
    inbound(tmp_path, "ITEMS_20260101T060000.csv", "PID,SKU\n10000000000001,TU0001-M-Navy\n")
    erp = connector(tmp_path, MERRET_PROFILE)
    with pytest.raises(Skippable) as caught:
        await erp.post_sales_order(sales_order())
    assert caught.value.reason == Reason.UNKNOWN_SKU and "'TU0002'" in str(caught.value)
    assert not (tmp_path / "outbound" / "pending" / "SO_000000101.csv").exists()


async def test_despatch_advice_is_read_once_even_when_the_erp_sends_the_same_file_again(
    sandbox: FilesSandbox,
) -> None:
    erp = connector(sandbox.root)
    await erp.post_sales_order(sales_order())
    sandbox.despatch("000000101", carrier="DPD", service="NEXTDAY", tracking="1|2")
    pages = [p async for p in erp.despatches_since(None)]
    [despatch] = [d for p in pages for d in p.despatches]
    assert despatch.tracking_numbers == ("1", "2") and despatch.erp_order_ref.startswith("MO")
    name = pages[-1].cursor
    done = sandbox.root / "inbound" / "done" / name
    (sandbox.root / "inbound" / "pending" / name).write_bytes(done.read_bytes())  # re-sent as it was
    again = [d for p in [p async for p in erp.despatches_since(pages[-1].cursor)] for d in p.despatches]
    assert again == []
    assert not (sandbox.root / "inbound" / "pending" / name).exists()
    assert name in (sandbox.root / "inbound" / ".trueup-seen").read_text()


async def test_a_despatch_page_whose_caller_stopped_is_read_again(sandbox: FilesSandbox) -> None:
    erp = connector(sandbox.root)
    await erp.post_sales_order(sales_order())
    sandbox.despatch("000000101", carrier="DPD", service="NEXTDAY", tracking="T1")
    async for page in erp.despatches_since(None):
        assert page.despatches
        break  # the caller crashed before committing the page
    replay = [d for p in [p async for p in erp.despatches_since(None)] for d in p.despatches]
    assert [d.tracking_numbers for d in replay] == [("T1",)]


async def test_the_xml_profile_writes_orders_the_erp_can_read(tmp_path: Path) -> None:
    profile = FILES_PROFILE.with_overrides(format=Format.XML)
    erp = connector(tmp_path, profile)
    ref = await erp.post_sales_order(sales_order())
    assert ref == "SO_000000101.xml"
    data = (tmp_path / "outbound" / "pending" / ref).read_bytes()
    assert data.startswith(b"<?xml") and b"<SalesOrder>" in data
    rows = profile.load(RecordKind.SALES_ORDER, data)
    assert [(r.values["sku"], r.values["qty"], r.values["gross"]) for r in rows] == [
        ("TU0001-M-Navy", "2", "36.00"),
        ("TU0002", "1", "12.00"),
    ]
    assert {r.values["grand_total"] for r in rows} == {"51.95"}


async def test_a_unit_price_is_written_with_four_decimals_and_booked_amounts_with_two(tmp_path: Path) -> None:
    """As docs/connectors/files.md says: the unit price is net / qty to four places, so qty x unit price
    still comes to the line's net; the amounts to book keep two."""
    from decimal import Decimal

    order = sales_order()
    line = order.lines[0].model_copy(
        update={"qty": Decimal(3), "unit_price": Decimal("3.3333"), "net": Decimal("10.00")}
    )
    erp = connector(tmp_path)
    ref = await erp.post_sales_order(order.model_copy(update={"lines": (line,)}))
    rows = FILES_PROFILE.load(RecordKind.SALES_ORDER, (tmp_path / "outbound" / "pending" / ref).read_bytes())
    assert [(r.values["qty"], r.values["unit_price"], r.values["net"], r.values["tax"]) for r in rows] == [
        ("3", "3.3333", "10.00", "6.00")
    ]
