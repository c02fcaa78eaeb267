"""What trueup writes for a file ERP (sales orders and credit notes, named by the storefront id, so that
posting is idempotent without the ERP's help), and what the ERP made of it (its acknowledgement, by the
profile's rule: docs/connectors/files.md, "Acknowledgements")."""

from __future__ import annotations

import asyncio

from trueup.connectors.files.acks import AckFileAnswers, acknowledgement, refusal_text
from trueup.connectors.files.folders import DONE, ERROR, OUTBOUND, PENDING, FileFolders
from trueup.connectors.files.profile import Profile, RecordKind
from trueup.connectors.files.rows import RowError, address_fields, money
from trueup.connectors.files.transport import Transport
from trueup.errors import NotReady, Rejected
from trueup.model.erp import CreditNote
from trueup.model.orders import ErpSalesOrder
from trueup.ports import Ack, AckState


class OutboundFiles(FileFolders):
    def __init__(self, transport: Transport, profile: Profile, *, name: str) -> None:
        super().__init__(transport, profile, name=name)
        self._ack_files = AckFileAnswers()
        self._ack_lock = asyncio.Lock()  # one reader of acknowledgement files at a time: it moves them

    async def _erp_item_id(self, sku: str, given: str, field: str) -> str:
        """The ERP's item id for a line (the connector knows the item export)."""
        raise NotImplementedError

    async def _existing(self, name: str, what: str) -> str | None:
        """The ref of an outbound file already written (pending or done); Rejected if the ERP parked it."""
        for folder in (PENDING, DONE):  # the ERP only ever moves pending -> done|error: check in that order
            if await self.transport.exists(f"{OUTBOUND}/{folder}/{name}"):
                return name
        if self.profile.acknowledgement == "file":
            # An ERP that acknowledges by file may archive what it read: its acknowledgement is the memory
            # that the file was taken. A refused one is written afresh when the order is retried.
            if (await self._answer(name)).state == AckState.ACCEPTED:
                return name
            self._ack_files.answers.pop(name, None)
            return None
        if await self.transport.exists(f"{OUTBOUND}/{ERROR}/{name}"):
            why = await refusal_text(self.transport, name)
            raise Rejected(
                f"the ERP moved {what} file {name} to {OUTBOUND}/{ERROR}: {why}. Once it is fixed, delete "
                f"{OUTBOUND}/{ERROR}/{name} so that trueup can send it again",
                field="file",
                value=name,
            )
        return None

    async def sales_order_ack(self, external_id: str) -> Ack:
        """Whether the ERP's batch took the sales order file, refused it, or not yet (the profile's rule)."""
        return await self._answer(self.profile.outbound_name(RecordKind.SALES_ORDER, external_id))

    async def credit_note_ack(self, external_id: str) -> Ack:
        return await self._answer(self.profile.outbound_name(RecordKind.CREDIT_NOTE, external_id))

    async def _answer(self, name: str) -> Ack:
        if self.profile.acknowledgement == "moved":
            return await acknowledgement(self.transport, name)
        async with self._ack_lock:
            await self._take_ack_files()
        return self._ack_files.answer(name)

    async def _take_ack_files(self) -> None:
        """Take in acknowledgement files not read yet (those in done/ once: a previous process's), each
        parsed whole first; a file that cannot be used goes to inbound/error/ like any other."""
        acks = self._ack_files
        for folder, name in await self._candidates(RecordKind.ACK, with_done=not acks.loaded_done):
            if name in acks.read:
                continue
            loaded = await self._load(folder, name, RecordKind.ACK)
            if loaded is None:
                continue
            try:
                acks.take(loaded[0])
            except RowError as exc:
                await self._reject(folder, name, str(exc))
                continue
            acks.read.add(name)
            await self._consume(folder, name, loaded[1])
        acks.loaded_done = True

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
