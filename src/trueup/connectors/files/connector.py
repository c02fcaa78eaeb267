"""A file-exchange ERP (Merret, or any ERP that trades CSV/XML files) as a full `ErpConnector`.

Folders under the transport's root: `outbound/` (sales orders and credit notes trueup writes) and
`inbound/` (item exports, stock snapshots, price lists, despatch advice and the daily ledger the ERP
writes), each with `pending/`, `done/` and `error/`.

- Outbound files are named by the storefront id (`SO_<order id>.csv`), so posting is idempotent without
  the ERP's help: the name is looked up in pending, done and error before anything is written
  (`outbound.py`, with the ERP's acknowledgements; the shared folder plumbing is `folders.py`).
- Item exports, stock snapshots and price lists are full positions: the newest readable file wins, and
  re-reading it is harmless. Despatch advice is a stream: each file is one page, its name the cursor.
- Every inbound file is parsed whole before anything in it is yielded. An unusable file is moved to
  `inbound/error/` with a `<name>.error.txt` saying what is wrong, logged, and listed in `rejected_files`;
  nothing in it is applied. A file is moved to `done/` (and its name and checksum added to the
  `.trueup-seen` ledger) only after the caller has taken everything in it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import date, datetime

from trueup.connectors.files.folders import DONE, INBOUND, PENDING, RejectedFile, RejectedRow
from trueup.connectors.files.identifiers import barcode_problem, is_pid, pid_problem
from trueup.connectors.files.outbound import OutboundFiles
from trueup.connectors.files.profile import Profile, RecordKind, Row
from trueup.connectors.files.rows import (
    RowError,
    decimal,
    integer,
    ledger_day,
    moment,
    snapshot_time,
    text,
)
from trueup.connectors.files.transport import Transport
from trueup.errors import Skippable
from trueup.model.erp import (
    Despatch,
    DespatchLine,
    DespatchPage,
    ItemPrice,
    LedgerEntry,
    LedgerKind,
    StockLevel,
    StockSnapshot,
)
from trueup.model.exceptions import Reason
from trueup.model.items import ErpItem, FieldLimits
from trueup.model.stock import SellableFormula
from trueup.model.work import InputRejection

__all__ = ["FilesErp", "RejectedFile", "RejectedRow"]

log = logging.getLogger("trueup.connectors.files")

_TRUE = {"1", "true", "yes", "y", "a", "active"}
_INVOICE = {"inv", "invoice"}
_CREDIT = {"crn", "cn", "credit", "credit_note", "creditnote"}


class FilesErp(OutboundFiles):
    """The ERP's side of trueup, over a `Transport` and a `Profile`. Owns the transport."""

    # R-STK-1: stock files (Merret's included) carry on hand, allocated and quarantined per location.
    sellable_formula = SellableFormula(("allocated", "quarantined", "reserved"), use_erp_sellable=False)

    def __init__(
        self,
        transport: Transport,
        profile: Profile,
        *,
        name: str = "files",
        limits: FieldLimits | None = None,
        page_size: int = 1000,
    ) -> None:
        super().__init__(transport, profile, name=name)
        base = limits or FieldLimits()
        # A file carries three address columns, whatever the config says.
        self.limits = replace(base, address_lines=min(base.address_lines, 3))
        self.page_size = page_size
        self._items_by_sku: dict[str, ErpItem] = {}
        self._items_from: str | None = None
        self._reported = (0, 0)

    def take_rejections(self) -> list[InputRejection]:
        """Files moved to error/ and item rows left out since the last call, for the exception queue."""
        files, rows = self._reported
        found = [
            InputRejection(
                self.name,
                f.name,
                f"{self.name} file {f.name}: {f.reason}. Nothing in it was applied. "
                f"Resolution: have the ERP re-send a corrected file into {INBOUND}/{PENDING}/.",
            )
            for f in self.rejected_files[files:]
        ] + [
            InputRejection(
                self.name,
                f"{r.file}#{r.row}",
                f"{self.name} file {r.file} row {r.row} ({r.key}): "
                f"{r.reason}. The row was left out. Resolution: correct the item in the ERP so that "
                "its next export carries it.",
                field=f"row {r.row}",
            )
            for r in self.rejected_rows[rows:]
        ]
        self._reported = (len(self.rejected_files), len(self.rejected_rows))
        return found

    async def aclose(self) -> None:
        await self.transport.aclose()

    # --- items -----------------------------------------------------------------------------------------

    def _item(self, row: Row) -> ErpItem:
        item_id = text(row, "item_id")
        if self.profile.item_key == "pid" and (problem := pid_problem(item_id)):
            raise RowError(row, problem)
        barcode = row.get("barcode")
        if barcode and (problem := barcode_problem(barcode)):
            raise RowError(row, problem)
        active = row.get("active")
        return ErpItem(
            sku=text(row, "sku"),
            erp_item_id=item_id,
            barcode=barcode or None,
            pid=item_id if self.profile.item_key == "pid" else None,
            active=(active.lower() in _TRUE) if active else True,
            name=row.get("name"),
        )

    def _items_of(self, name: str, rows: Sequence[Row]) -> list[ErpItem]:
        """The good rows of an item export; a bad or duplicate row is listed in `rejected_rows`."""
        items: dict[str, ErpItem] = {}
        row_of: dict[str, int] = {}
        ids: dict[str, int] = {}
        rejected = {(r.file, r.row) for r in self.rejected_rows}
        for row in rows:
            try:
                item = self._item(row)
                if item.sku in row_of:
                    raise RowError(row, f"SKU {item.sku!r} is already on row {row_of[item.sku]}")
                if item.erp_item_id in ids:
                    raise RowError(
                        row, f"item {item.erp_item_id!r} is already on row {ids[item.erp_item_id]}"
                    )
            except RowError as exc:
                if (name, row.number) not in rejected:
                    key = row.get("sku") or row.get("item_id")
                    self.rejected_rows.append(RejectedRow(name, row.number, key, str(exc)))
                    log.warning("ERP %s: item export %s: left out %s", self.name, name, exc)
                continue
            items[item.sku] = item
            row_of[item.sku] = ids[item.erp_item_id] = row.number
        return [
            ErpItem(i.sku, i.erp_item_id, i.barcode, i.pid, i.active, i.name, source_version=name)
            for i in items.values()
        ]

    async def _load_items(self) -> tuple[str, str, list[ErpItem]] | None:
        """The newest item export's good items (name, checksum, items); also refreshes the SKU map."""
        newest = await self._newest(RecordKind.ITEM)
        if newest is None:
            return None
        _, name, rows, checksum = newest
        items = self._items_of(name, rows)
        self._items_by_sku = {i.sku: i for i in items}
        self._items_from = name
        return name, checksum, items

    async def items(self) -> AsyncIterator[Sequence[ErpItem]]:
        loaded = await self._load_items()
        if loaded is None:
            return
        name, checksum, items = loaded
        for start in range(0, len(items), self.page_size):
            yield items[start : start + self.page_size]
        await self._retire_older(RecordKind.ITEM, name, checksum)

    async def _erp_item_id(self, sku: str, given: str, field: str) -> str:
        """The ERP item id for a line. Merret needs a PID: taken from the line when it is one, else looked
        up by SKU in the newest item export."""
        if self.profile.item_key != "pid" or is_pid(given):
            return given
        item = self._items_by_sku.get(sku)
        if item is None:
            await self._load_items()
            item = self._items_by_sku.get(sku)
        if item is None or not item.pid:
            raise Skippable(
                Reason.UNKNOWN_SKU,
                f"SKU {sku!r} ({field}) has no PID in the ERP's item export "
                f"({self._items_from or 'no item export received yet'})",
                field=field,
                value=sku,
            )
        return item.pid

    # --- stock and prices ------------------------------------------------------------------------------

    def _sku(self, row: Row, by_id: dict[str, str]) -> str:
        sku = row.get("sku") or by_id.get(row.get("item_id"), "")
        if not sku:
            raise RowError(row, f"item {row.get('item_id')!r} has no SKU and is not in the item export")
        return sku

    async def _ids_to_skus(self) -> dict[str, str]:
        if not self._items_by_sku:
            await self._load_items()
        return {i.erp_item_id: i.sku for i in self._items_by_sku.values()}

    async def stock(self) -> AsyncIterator[StockSnapshot]:
        while (newest := await self._newest(RecordKind.STOCK)) is not None:
            folder, name, rows, checksum = newest
            taken_at = snapshot_time(name)
            if taken_at is None:
                await self._reject(folder, name, "its name carries no snapshot time (_YYYYMMDDTHHMMSS)")
                continue
            try:
                levels = await self._levels(rows, taken_at)
            except RowError as exc:
                await self._reject(folder, name, str(exc))
                continue
            for start in range(0, len(levels), self.page_size):
                yield StockSnapshot(levels=tuple(levels[start : start + self.page_size]), taken_at=taken_at)
            await self._retire_older(RecordKind.STOCK, name, checksum)
            return

    async def _levels(self, rows: Sequence[Row], taken_at: datetime) -> list[StockLevel]:
        by_id = await self._ids_to_skus() if any(not r.get("sku") for r in rows) else {}
        return [
            StockLevel(
                sku=self._sku(row, by_id),
                erp_item_id=text(row, "item_id"),
                location=text(row, "location"),
                on_hand=integer(row, "on_hand"),
                allocated=integer(row, "allocated", required=False),
                quarantined=integer(row, "quarantined", required=False),
                on_order=integer(row, "on_order", required=False),
                as_of=taken_at,
            )
            for row in rows
        ]

    async def prices(self) -> AsyncIterator[Sequence[ItemPrice]]:
        while (newest := await self._newest(RecordKind.PRICE)) is not None:
            folder, name, rows, checksum = newest
            try:
                by_id = await self._ids_to_skus() if any(not r.get("sku") for r in rows) else {}
                prices = [
                    ItemPrice(
                        sku=self._sku(row, by_id),
                        currency=text(row, "currency").upper(),
                        price=decimal(row, "price"),
                    )
                    for row in rows
                ]
            except RowError as exc:
                await self._reject(folder, name, str(exc))
                continue
            for start in range(0, len(prices), self.page_size):
                yield prices[start : start + self.page_size]
            await self._retire_older(RecordKind.PRICE, name, checksum)
            return

    # --- despatches ------------------------------------------------------------------------------------

    async def despatches_since(self, cursor: str | None) -> AsyncIterator[DespatchPage]:
        """One page per despatch advice file, in name order; the cursor is the file name.

        Pending files are always read (unless that exact file was applied before); done files only when
        named after the cursor, which covers a file moved to done whose page was never committed."""
        seen = await self._seen_set()
        for folder, name in await self._candidates(RecordKind.DESPATCH, with_done=True):
            if folder == DONE and cursor is not None and name <= cursor:
                continue
            loaded = await self._load(folder, name, RecordKind.DESPATCH)
            if loaded is None:
                continue
            rows, checksum = loaded
            if folder == PENDING and (name, checksum) in seen:
                await self._consume(folder, name, checksum)  # the ERP sent the same file again
                continue
            try:
                despatches = await self._despatches(rows)
            except RowError as exc:
                await self._reject(folder, name, str(exc))
                continue
            yield DespatchPage(despatches=despatches, cursor=name)
            # The caller came back for more, so it has taken this page: only now is the file done.
            await self._consume(folder, name, checksum)

    async def _despatches(self, rows: Sequence[Row]) -> tuple[Despatch, ...]:
        by_id = await self._ids_to_skus() if any(not r.get("sku") for r in rows) else {}
        heads: dict[str, Row] = {}
        lines: dict[str, list[DespatchLine]] = {}
        for row in rows:
            despatch_id = text(row, "despatch_id")
            head = heads.setdefault(despatch_id, row)
            if row.get("order_id") != head.get("order_id"):
                raise RowError(row, f"despatch {despatch_id} names two orders")
            lines.setdefault(despatch_id, []).append(
                DespatchLine(sku=self._sku(row, by_id), qty=integer(row, "qty"))
            )
        sep = self.profile.tracking_separator
        return tuple(
            Despatch(
                despatch_id=despatch_id,
                order_id=text(head, "order_id"),
                erp_order_ref=head.get("erp_order_ref"),
                despatched_at=moment(head, "despatched_at"),
                carrier=text(head, "carrier"),
                service=head.get("service"),
                tracking_numbers=tuple(t.strip() for t in head.get("tracking").split(sep) if t.strip()),
                lines=tuple(lines[despatch_id]),
                closes_order=head.get("order_status").strip().upper() in self.profile.closed_statuses,
            )
            for despatch_id, head in heads.items()
        )

    # --- ledger ----------------------------------------------------------------------------------------

    async def ledger(self, start: date, end: date) -> AsyncIterator[Sequence[LedgerEntry]]:
        """The ERP's daily ledger files for the period. They are the ERP's archive: trueup never moves
        them to done, so a period can be read again."""
        for folder, name in await self._candidates(RecordKind.LEDGER, with_done=True):
            day = ledger_day(name)
            if day is None or not start <= day <= end:
                continue
            loaded = await self._load(folder, name, RecordKind.LEDGER)
            if loaded is None:
                continue
            try:
                entries = [self._ledger_entry(row) for row in loaded[0]]
            except RowError as exc:
                await self._reject(folder, name, str(exc))
                continue
            page = [e for e in entries if start <= e.posted_on <= end]
            if page:
                yield page

    def _ledger_entry(self, row: Row) -> LedgerEntry:
        kind = text(row, "document_type").lower()
        if kind not in _INVOICE | _CREDIT:
            raise RowError(row, f"document_type {kind!r} is neither an invoice nor a credit note")
        try:
            posted_on = date.fromisoformat(text(row, "posted_on"))
        except ValueError:
            raise RowError(row, f"posted_on {row.get('posted_on')!r} is not a date") from None
        return LedgerEntry(
            kind=LedgerKind.INVOICE if kind in _INVOICE else LedgerKind.CREDIT_NOTE,
            document_id=text(row, "document_id"),
            order_id=text(row, "order_id"),
            posted_on=posted_on,
            currency=text(row, "currency").upper(),
            net=decimal(row, "net"),
            tax=decimal(row, "tax"),
            gross=decimal(row, "gross"),
        )
