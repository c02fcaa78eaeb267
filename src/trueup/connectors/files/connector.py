"""A file-exchange ERP (Merret, or any ERP that trades CSV/XML files) as a full `ErpConnector`.

Folders under the transport's root: `outbound/` (sales orders and credit notes trueup writes) and
`inbound/` (item exports, stock snapshots, price lists, despatch advice and the daily ledger the ERP
writes), each with `pending/`, `done/` and `error/`.

- Outbound files are named by the storefront id (`SO_<order id>.csv`), so posting is idempotent without
  the ERP's help: the name is looked up in pending, done and error before anything is written.
- Item exports, stock snapshots and price lists are full positions: the newest readable file wins, and
  re-reading it is harmless. Despatch advice is a stream: each file is one page, its name the cursor.
- Every inbound file is parsed whole before anything in it is yielded. An unusable file is moved to
  `inbound/error/` with a `<name>.error.txt` saying what is wrong, logged, and listed in `rejected_files`;
  nothing in it is applied. A file is moved to `done/` (and its name and checksum added to the
  `.trueup-seen` ledger) only after the caller has taken everything in it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from trueup.connectors.files.identifiers import barcode_problem, is_pid, pid_problem
from trueup.connectors.files.profile import MalformedFile, Profile, RecordKind, Row
from trueup.connectors.files.rows import (
    RowError,
    address_fields,
    decimal,
    integer,
    ledger_day,
    moment,
    money,
    snapshot_time,
    text,
)
from trueup.connectors.files.transport import Transport
from trueup.errors import NotReady, Rejected, Skippable
from trueup.model.erp import (
    CreditNote,
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
from trueup.model.orders import ErpSalesOrder
from trueup.model.stock import SellableFormula
from trueup.model.work import InputRejection

__all__ = ["FilesErp", "RejectedFile", "RejectedRow"]

log = logging.getLogger("trueup.connectors.files")

OUTBOUND = "outbound"
INBOUND = "inbound"
PENDING, DONE, ERROR = "pending", "done", "error"
SEEN = f"{INBOUND}/.trueup-seen"

_TRUE = {"1", "true", "yes", "y", "a", "active"}
_INVOICE = {"inv", "invoice"}
_CREDIT = {"crn", "cn", "credit", "credit_note", "creditnote"}


@dataclass(frozen=True, slots=True)
class RejectedFile:
    """An inbound file moved to `inbound/error/`: nothing in it was applied."""

    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """One row left out of an otherwise good file (an item with a bad PID or barcode)."""

    file: str
    row: int
    key: str
    reason: str


class FilesErp:
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
        self.transport = transport
        self.profile = profile
        self.name = name
        base = limits or FieldLimits()
        # A file carries three address columns, whatever the config says.
        self.limits = replace(base, address_lines=min(base.address_lines, 3))
        self.page_size = page_size
        self.rejected_files: list[RejectedFile] = []
        self.rejected_rows: list[RejectedRow] = []
        self._items_by_sku: dict[str, ErpItem] = {}
        self._items_from: str | None = None
        self._seen: set[tuple[str, str]] | None = None
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

    # --- inbound plumbing ------------------------------------------------------------------------------

    async def _candidates(self, kind: RecordKind, *, with_done: bool) -> list[tuple[str, str]]:
        """(folder, name) of this kind's inbound files, oldest name first; pending wins over done."""
        found: dict[str, str] = {}
        folders = (DONE, PENDING) if with_done else (PENDING,)
        for folder in folders:
            for name in await self.transport.list(f"{INBOUND}/{folder}"):
                if self.profile.is_kind(name, kind):
                    found[name] = folder
        return [(found[name], name) for name in sorted(found)]

    async def _load(self, folder: str, name: str, kind: RecordKind) -> tuple[list[Row], str] | None:
        """The file's rows and checksum; None when it vanished or was unusable (then it is in error/)."""
        data = await self.transport.read(f"{INBOUND}/{folder}/{name}")
        if data is None:
            return None
        try:
            return self.profile.load(kind, data), hashlib.sha256(data).hexdigest()
        except MalformedFile as exc:
            await self._reject(folder, name, str(exc))
            return None

    async def _reject(self, folder: str, name: str, reason: str) -> None:
        """Park a whole inbound file in error/, with a note a person can act on."""
        note = (
            f"trueup could not use {name}: {reason}.\n"
            "Nothing in this file was applied.\n"
            f"Resolution: have the ERP's interface team re-send a corrected {name} into "
            f"{INBOUND}/{PENDING}/ (a new name or the same one), then delete this file and its note.\n"
        )
        await self.transport.move(f"{INBOUND}/{folder}/{name}", f"{INBOUND}/{ERROR}/{name}")
        await self.transport.write_atomic(f"{INBOUND}/{ERROR}/{name}.error.txt", note.encode())
        self.rejected_files.append(RejectedFile(name, reason))
        log.warning("ERP %s: moved %s to %s/%s: %s", self.name, name, INBOUND, ERROR, reason)

    async def _seen_set(self) -> set[tuple[str, str]]:
        if self._seen is None:
            raw = (await self.transport.read(SEEN) or b"").decode()
            self._seen = {
                (name, checksum)
                for line in raw.splitlines()
                for name, _, checksum in [line.partition("\t")]
                if checksum
            }
        return self._seen

    async def _consume(self, folder: str, name: str, checksum: str) -> None:
        """Done with a pending file: record (name, checksum) as applied, then move it to done/."""
        if folder != PENDING:
            return
        seen = await self._seen_set()
        if (name, checksum) not in seen:
            seen.add((name, checksum))
            body = "".join(f"{n}\t{c}\n" for n, c in sorted(seen))
            await self.transport.write_atomic(SEEN, body.encode())
        await self.transport.move(f"{INBOUND}/{PENDING}/{name}", f"{INBOUND}/{DONE}/{name}")

    async def _newest(self, kind: RecordKind) -> tuple[str, str, list[Row], str] | None:
        """The newest readable file of a full-position kind (items, stock, prices), pending or done."""
        for folder, name in reversed(await self._candidates(kind, with_done=True)):
            loaded = await self._load(folder, name, kind)
            if loaded is not None:
                return folder, name, *loaded
        return None

    async def _retire_older(self, kind: RecordKind, newest: str, checksum: str) -> None:
        """The newest position has been taken: it and every older pending file of its kind go to done/."""
        for folder, name in await self._candidates(kind, with_done=False):
            if name < newest:
                data = await self.transport.read(f"{INBOUND}/{folder}/{name}") or b""
                await self._consume(folder, name, hashlib.sha256(data).hexdigest())
            elif name == newest:
                await self._consume(folder, name, checksum)

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

    # --- outbound: sales orders and credit notes ------------------------------------------------------

    async def _existing(self, name: str, what: str) -> str | None:
        """The ref of an outbound file already written (pending or done); Rejected if the ERP parked it."""
        for folder in (PENDING, DONE):  # the ERP only ever moves pending -> done|error: check in that order
            if await self.transport.exists(f"{OUTBOUND}/{folder}/{name}"):
                return name
        if await self.transport.exists(f"{OUTBOUND}/{ERROR}/{name}"):
            note = await self.transport.read(f"{OUTBOUND}/{ERROR}/{name}.error.txt")
            why = note.decode(errors="replace").strip() if note else "no reason file was left with it"
            raise Rejected(
                f"the ERP moved {what} file {name} to {OUTBOUND}/{ERROR}: {why}. Once it is fixed, delete "
                f"{OUTBOUND}/{ERROR}/{name} so that trueup can send it again",
                field="file",
                value=name,
            )
        return None

    async def find_sales_order(self, external_id: str) -> str | None:
        name = self.profile.outbound_name(RecordKind.SALES_ORDER, external_id)
        return await self._existing(name, "sales order")

    async def post_sales_order(self, order: ErpSalesOrder) -> str:
        name = self.profile.outbound_name(RecordKind.SALES_ORDER, order.external_id)
        if (ref := await self._existing(name, "sales order")) is not None:
            return ref
        rows = [await self._order_row(order, i) for i in range(len(order.lines))]
        await self.transport.write_atomic(
            f"{OUTBOUND}/{PENDING}/{name}", self.profile.dump(RecordKind.SALES_ORDER, rows)
        )
        return name

    async def _order_row(self, order: ErpSalesOrder, index: int) -> dict[str, str]:
        line = order.lines[index]
        item_id = await self._erp_item_id(line.sku, line.erp_item_id, f"lines[{index}].sku")
        return {
            "order_id": order.external_id,
            "order_date": order.order_date.isoformat(timespec="seconds"),
            "currency": order.currency,
            "customer_email": order.customer_email,
            "customer_name": order.customer_name,
            **address_fields("bill", order.bill_to),
            **address_fields("ship", order.ship_to),
            "carrier": order.carrier,
            "service": order.service,
            "payment_method": order.payment_method,
            "payment_reference": order.payment_reference,
            "tax_mode": order.tax_mode,
            "shipping_net": money(order.shipping_net),
            "shipping_tax": money(order.shipping_tax),
            "discount_total": money(order.discount_total),
            "tax_total": money(order.tax_total),
            "grand_total": money(order.grand_total),
            "line_no": str(line.line_no),
            "item_id": item_id,
            "sku": line.sku,
            "description": line.description,
            "qty": f"{line.qty.normalize():f}",
            "unit_price": str(line.unit_price),
            "net": money(line.net),
            "discount": money(line.discount),
            "tax": money(line.tax),
            "tax_rate": f"{line.tax_rate.normalize():f}",
            "gross": money(line.gross),
        }

    async def find_credit_note(self, external_id: str) -> str | None:
        name = self.profile.outbound_name(RecordKind.CREDIT_NOTE, external_id)
        return await self._existing(name, "credit note")

    async def post_credit_note(self, note: CreditNote) -> str:
        name = self.profile.outbound_name(RecordKind.CREDIT_NOTE, note.external_id)
        if (ref := await self._existing(name, "credit note")) is not None:
            return ref
        order_ref = await self.find_sales_order(note.order_id)
        if order_ref is None:
            raise NotReady(
                f"credit note {note.external_id}: order {note.order_id} is not in ERP {self.name} yet"
            )
        rows = []
        for index, line in enumerate(note.lines):
            item_id = await self._erp_item_id(line.sku, line.erp_item_id, f"lines[{index}].sku")
            rows.append(
                {
                    "credit_note_id": note.external_id,
                    "order_id": note.order_id,
                    "erp_order_ref": note.erp_order_ref or order_ref,
                    "created_at": note.created_at.isoformat(timespec="seconds"),
                    "currency": note.currency,
                    "reason": note.reason,
                    "shipping_net": money(note.shipping_net),
                    "shipping_tax": money(note.shipping_tax),
                    "adjustment": money(note.adjustment),
                    "total": money(note.total),
                    "line_no": str(index + 1),
                    "item_id": item_id,
                    "sku": line.sku,
                    "qty": str(line.qty),
                    "net": money(line.net),
                    "tax": money(line.tax),
                    "tax_rate": f"{line.tax_rate.normalize():f}",
                    "gross": money(line.gross),
                    "restock": "1" if line.restock else "0",
                }
            )
        await self.transport.write_atomic(
            f"{OUTBOUND}/{PENDING}/{name}", self.profile.dump(RecordKind.CREDIT_NOTE, rows)
        )
        return name
