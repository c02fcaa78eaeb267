"""Emulators of a file-exchange ERP: Merret over a real SFTP server, and the generic files ERP in a folder.

Each plays the ERP's batch side on the documented folder layout (docs/connectors/merret.md, files.md):
it drops item exports, stock snapshots, price lists, despatch advice and the daily ledger into
`inbound/pending/`, and imports what trueup writes to `outbound/pending/` as the ERP's own batch would:
it checks every line's item, files the good ones in `outbound/done/` and the bad ones in `outbound/error/`
with a `<name>.error.txt`, counts orders by storefront id (a duplicate under another name counts twice
when `enforce_unique` is off) and books each credit note in the ledger.

The batch runs whenever trueup polls `inbound/pending/` (and before `despatch()` and the counts), so that
tests are deterministic without sleeping. Over SFTP the server's directory listing triggers it. For the
local folder a Python audit hook on `os.scandir`/`os.listdir` does: the in-process stand-in for a
filesystem watch. This module speaks the documented CSV itself and imports nothing from the connector,
so that the connector is tested against the format, not against its own code.
"""

from __future__ import annotations

import asyncio
import csv
import hmac
import io
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncssh

from trueup.sandbox.faults import Faults

__all__ = ["FilesSandbox", "MerretSandbox", "SftpServerThread"]

log = logging.getLogger("trueup.sandbox.merret")

_FIELDS = {
    "item": ("item_id", "sku", "barcode", "name", "active"),
    "stock": ("item_id", "sku", "location", "on_hand", "allocated", "quarantined", "on_order"),
    "price": ("item_id", "sku", "currency", "price"),
    "despatch": (
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
        "order_status",
    ),
    "ledger": ("document_type", "document_id", "order_id", "posted_on", "currency", "net", "tax", "gross"),
    "ack": ("file", "status", "message"),
}

# Merret's column names, as documented in docs/connectors/merret.md (the files ERP uses the field names).
_MERRET_COLUMNS = {
    "item_id": "PID",
    "name": "DESCRIPTION",
    "active": "STATUS",
    "order_id": "WEB_ORDER_NO",
    "erp_order_ref": "MERRET_ORDER_NO",
    "location": "BRANCH",
    "tracking": "TRACKING_NO",
}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


# --- the SFTP server -------------------------------------------------------------------------------------


class _Login(asyncssh.SSHServer):
    """One user, one password: what an ERP host gives an integration account."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return hmac.compare_digest(username.encode(), self.username.encode()) and hmac.compare_digest(
            password.encode(), self.password.encode()
        )


class _ErpSftp(asyncssh.SFTPServer):
    """SFTP jailed to the ERP's exchange folder; listing inbound/pending runs the ERP's batch first, and
    renames obey the sandbox's faults (fail before, or succeed and then report a failure)."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], root: Path, erp: _FileErp) -> None:
        super().__init__(chan, chroot=os.fsencode(root))
        self.erp = erp

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        if os.fsdecode(self.map_path(path)).rstrip("/") in self.erp.poll_folders:
            self.erp.run_batch()
        async for name in super().scandir(path):
            yield name

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        faults = self.erp.faults
        faults.stats.requests += 1
        if faults.error_rate and faults.rng.random() < faults.error_rate:
            faults.stats.unavailable += 1
            raise asyncssh.SFTPFailure("sandbox fault: rename failed")
        super().posix_rename(oldpath, newpath)
        if faults.error_after_commit_rate and faults.rng.random() < faults.error_after_commit_rate:
            faults.stats.after_commit += 1
            raise asyncssh.SFTPFailure("sandbox fault: rename reported failed after it happened")


class SftpServerThread:
    """A real asyncssh SFTP server on 127.0.0.1, on its own event loop in a background thread.

    `start()` returns the port the OS picked; `known_hosts_line` is the line a client's known_hosts needs.
    """

    def __init__(
        self,
        sftp_factory: Callable[[asyncssh.SSHServerChannel[bytes]], asyncssh.SFTPServer],
        username: str,
        password: str,
    ) -> None:
        self.sftp_factory = sftp_factory
        self.username = username
        self.password = password
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def known_hosts_line(self) -> str:
        key = self.host_key.export_public_key("openssh").decode().strip()
        return f"[127.0.0.1]:{self.port} {key}\n"

    def start(self, timeout: float = 10.0) -> int:
        if self._thread is not None:
            raise RuntimeError("the SFTP server is already started")
        self._thread = threading.Thread(target=self._run, name="sandbox-sftp", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            self.stop()
            raise RuntimeError(f"the sandbox SFTP server did not start: {self._error!r}")
        return self.port

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        server: asyncssh.SSHAcceptor | None = None
        try:
            server = loop.run_until_complete(
                asyncssh.listen(
                    "127.0.0.1",
                    0,
                    server_factory=lambda: _Login(self.username, self.password),
                    server_host_keys=[self.host_key],
                    sftp_factory=self.sftp_factory,
                    allow_scp=False,
                )
            )
            self.port = int(server.sockets[0].getsockname()[1])
            self._ready.set()
            loop.run_forever()
        except BaseException as exc:  # reported by start()
            self._error = exc
        finally:
            self._ready.set()
            if server is not None:
                server.close()
                loop.run_until_complete(server.wait_closed())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and join the thread. Safe to call more than once."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._loop = None


# --- the local folder's trigger -------------------------------------------------------------------------

_WATCHED: dict[str, Callable[[], None]] = {}
_IN_HOOK = threading.local()
_HOOKED = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if (event != "os.scandir" and event != "os.listdir") or not _WATCHED or getattr(_IN_HOOK, "on", False):
        return
    try:
        path = os.path.abspath(os.fsdecode(args[0])) if args and args[0] is not None else ""
    except TypeError:
        return  # a file descriptor
    batch = _WATCHED.get(path)
    if batch is None:
        return
    _IN_HOOK.on = True
    try:
        batch()
    except Exception:  # an audit hook must never break the caller's listing
        log.exception("sandbox ERP batch failed")
    finally:
        _IN_HOOK.on = False


def _watch(folder: Path, batch: Callable[[], None]) -> None:
    global _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)  # hooks cannot be removed: one per process, idle when nothing is watched
        _HOOKED = True
    _WATCHED[str(folder)] = batch


# --- the ERP --------------------------------------------------------------------------------------------


class _FileErp:
    """The ERP's item master, stock, prices, imported orders and ledger, and its batch jobs."""

    kind = "files"
    merret = False

    def __init__(self, *, seed: int = 0, faults: Faults | None = None, enforce_unique: bool = True) -> None:
        self.seed = seed
        self.faults = faults or Faults(seed=seed)
        self.enforce_unique = enforce_unique
        self.home = Path(tempfile.mkdtemp(prefix=f"trueup-{self.kind}-"))
        self.root = self.home / "exchange"
        for side in ("inbound", "outbound"):
            for folder in ("pending", "done", "error"):
                (self.root / side / folder).mkdir(parents=True)
        self.poll_folder = (self.root / "inbound" / "pending").absolute()
        # trueup lists inbound/pending to read the ERP's files and outbound/pending to learn what the batch
        # made of its own: either listing runs the batch first, as a folder watch would.
        self.poll_folders = {str(self.poll_folder), str((self.root / "outbound" / "pending").absolute())}
        self.batch_paused = False  # the ERP's batch job is down: files wait in outbound/pending
        # The ERP acknowledges by file (profile acknowledgement = "file"): its batch archives each file it
        # read (it leaves outbound/) and lists what it made of it in an ACK_ file in inbound/pending.
        self.ack_files = False
        self.items: dict[str, dict[str, Any]] = {}  # by SKU
        self.stock: dict[tuple[str, str], tuple[int, int, int]] = {}
        self.price_list: dict[tuple[str, str], str] = {}
        self.orders: dict[str, list[dict[str, str]]] = {}  # storefront id -> rows of the first import
        self.order_refs: dict[str, str] = {}
        self.order_counts: Counter[str] = Counter()
        self.credit_counts: Counter[str] = Counter()
        self.ledger_entries: dict[date, list[dict[str, str]]] = {}
        self.despatched: set[str] = set()
        self.despatched_qty: dict[str, Counter[str]] = {}  # storefront id -> units despatched by SKU
        self._seq = 0
        self._lock = threading.RLock()

    # --- wire ---------------------------------------------------------------------------------------

    def column(self, name: str) -> str:
        return (_MERRET_COLUMNS.get(name) or name.upper()) if self.merret else name

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _write(self, folder: str, name: str, kind: str, rows: Sequence[Mapping[str, object]]) -> None:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([self.column(f) for f in _FIELDS[kind]])
        for row in rows:
            writer.writerow([str(row.get(f, "")) for f in _FIELDS[kind]])
        target = self.root / folder / name
        temp = target.with_name(f".{name}.tmp")
        temp.write_text(out.getvalue(), encoding="utf-8")
        os.replace(temp, target)  # the ERP writes atomically too: trueup never sees half a file

    def _read(self, path: Path) -> list[dict[str, str]]:
        by_column = {self.column(f): f for f in _ALL_OUTBOUND_FIELDS}
        with path.open(encoding="utf-8", newline="") as handle:
            return [
                {by_column.get(k, k): (v or "") for k, v in row.items()} for row in csv.DictReader(handle)
            ]

    def _inbound_name(self, prefix: str) -> str:
        return f"{prefix}_{_now():%Y%m%dT%H%M%S}_{self._next():06d}.csv"

    # --- the ERP's own users -------------------------------------------------------------------------

    def pid_of(self, item_id: str) -> str:
        if len(item_id) == 14 and item_id.isdigit():  # already a PID (a real store's item master)
            return item_id
        digits = re.sub(r"\D", "", item_id)
        return "10" + (digits or str(self._next())).zfill(12)[-12:]

    def load_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        with self._lock:
            for raw in items:
                item_id = str(raw["item_id"])
                self.items[str(raw["sku"])] = {
                    "item_id": self.pid_of(item_id) if self.merret else item_id,
                    "sku": str(raw["sku"]),
                    "barcode": str(raw.get("barcode") or ""),
                    "name": str(raw.get("name") or ""),
                    "active": bool(raw.get("active", True)),
                }
            rows = [
                {**i, "active": ("A" if i["active"] else "D") if self.merret else str(i["active"]).lower()}
                for i in self.items.values()
            ]
            self._write("inbound/pending", self._inbound_name("ITEMS"), "item", rows)

    def _item(self, sku: str) -> dict[str, Any]:
        try:
            return self.items[sku]
        except KeyError:
            raise ValueError(f"SKU {sku!r} is not in the sandbox ERP's item master") from None

    def set_stock(
        self, sku: str, location: str, *, on_hand: int, allocated: int = 0, quarantined: int = 0
    ) -> None:
        with self._lock:
            self._item(sku)
            self.stock[(sku, location)] = (on_hand, allocated, quarantined)
            # One stock pool: every snapshot is the full position, as the overnight batch sends it.
            rows = [
                {
                    "item_id": self.items[s]["item_id"],
                    "sku": s,
                    "location": loc,
                    "on_hand": oh,
                    "allocated": al,
                    "quarantined": qu,
                    "on_order": 0,
                }
                for (s, loc), (oh, al, qu) in sorted(self.stock.items())
            ]
            self._write("inbound/pending", self._inbound_name("STOCK"), "stock", rows)

    def set_price(self, sku: str, currency: str, price: str) -> None:
        with self._lock:
            self._item(sku)
            self.price_list[(sku, currency)] = str(Decimal(price))
            rows = [
                {"item_id": self.items[s]["item_id"], "sku": s, "currency": c, "price": p}
                for (s, c), p in sorted(self.price_list.items())
            ]
            self._write("inbound/pending", self._inbound_name("PRICES"), "price", rows)

    def despatch(
        self,
        external_id: str,
        *,
        carrier: str,
        service: str,
        tracking: str,
        lines: Sequence[tuple[str, int]] = (),
        closes_order: bool = False,
    ) -> str:
        with self._lock:
            self.run_batch()
            rows = self.orders.get(external_id)
            if rows is None:
                raise ValueError(f"no sales order for {external_id} has been imported by the sandbox ERP")
            ordered = {r["sku"]: r for r in rows}
            wanted = list(lines) or [(r["sku"], int(Decimal(r["qty"]))) for r in rows]
            took = self.despatched_qty.setdefault(external_id, Counter())
            for sku, qty in wanted:
                took[sku] += qty
            whole = all(took[r["sku"]] >= int(Decimal(r["qty"])) for r in rows)
            status = "COMPLETE" if closes_order or whole else "PART"
            despatch_id = f"DSP{self._next():06d}"
            moment = _now()
            self._write(
                "inbound/pending",
                self._inbound_name("DESPATCH"),
                "despatch",
                [
                    {
                        "despatch_id": despatch_id,
                        "order_id": external_id,
                        "erp_order_ref": self.order_refs[external_id],
                        "despatched_at": moment.isoformat(),
                        "carrier": carrier,
                        "service": service,
                        "tracking": tracking,
                        "item_id": ordered[sku]["item_id"],
                        "sku": sku,
                        "qty": qty,
                        "order_status": status,
                    }
                    for sku, qty in wanted
                ],
            )
            self._invoice(external_id, rows, wanted, moment.date())
            return despatch_id

    def _invoice(
        self,
        external_id: str,
        rows: Sequence[Mapping[str, str]],
        wanted: Sequence[tuple[str, int]],
        day: date,
    ) -> None:
        """Merret raises the invoice when it despatches: the despatched lines' share, plus the shipping
        with the order's first despatch."""
        by_sku = {r["sku"]: r for r in rows}
        net = tax = Decimal(0)
        for sku, qty in wanted:
            row = by_sku[sku]
            share = Decimal(qty) / Decimal(row["qty"])
            net += (Decimal(row["net"]) - Decimal(row["discount"] or 0)) * share
            tax += Decimal(row["tax"]) * share
        if external_id not in self.despatched:
            net += Decimal(rows[0]["shipping_net"] or 0)
            tax += Decimal(rows[0]["shipping_tax"] or 0)
            self.despatched.add(external_id)
        net, tax = net.quantize(Decimal("0.01")), tax.quantize(Decimal("0.01"))
        self._post_ledger(day, "INV", f"INV{self._next():06d}", external_id, rows[0]["currency"], net, tax)

    def _post_ledger(
        self, day: date, kind: str, document_id: str, order_id: str, currency: str, net: Decimal, tax: Decimal
    ) -> None:
        document_type = kind if self.merret else {"INV": "invoice", "CRN": "credit_note"}[kind]
        self.ledger_entries.setdefault(day, []).append(
            {
                "document_type": document_type,
                "document_id": document_id,
                "order_id": order_id,
                "posted_on": day.isoformat(),
                "currency": currency,
                "net": str(net),
                "tax": str(tax),
                "gross": str(net + tax),
            }
        )
        # One ledger file per day, rewritten whole as the day's postings grow.
        self._write("inbound/pending", f"LEDGER_{day:%Y%m%d}.csv", "ledger", self.ledger_entries[day])

    def sales_order_counts(self) -> dict[str, int]:
        with self._lock:
            self.run_batch()
            return dict(self.order_counts)

    def credit_note_counts(self) -> dict[str, int]:
        with self._lock:
            self.run_batch()
            return dict(self.credit_counts)

    # --- the ERP's import batch ----------------------------------------------------------------------

    def run_batch(self) -> None:
        """Import every file in outbound/pending, oldest name first."""
        if self.batch_paused:
            return
        with self._lock:
            pending = self.root / "outbound" / "pending"
            files = [p for p in pending.iterdir() if p.is_file() and not p.name.startswith(".")]
            answers: list[dict[str, str]] = []
            # The order interface runs before the credit interface, as a credit needs its order.
            for path in sorted(files, key=lambda p: (not p.name.startswith("SO_"), p.name)):
                try:
                    problem = self._import(path)
                except (ValueError, KeyError, csv.Error, ArithmeticError) as exc:
                    problem = f"unreadable: {exc!r}"
                if self.ack_files:
                    path.unlink()
                    status = "refused" if problem else "accepted"
                    answers.append({"file": path.name, "status": status, "message": problem})
                    continue
                folder = "error" if problem else "done"
                os.replace(path, self.root / "outbound" / folder / path.name)
                if problem:
                    (self.root / "outbound" / "error" / f"{path.name}.error.txt").write_text(
                        f"{problem}\n", encoding="utf-8"
                    )
            if answers:
                self._write("inbound/pending", self._inbound_name("ACK"), "ack", answers)

    def _import(self, path: Path) -> str:
        """Import one file; the reason it was refused, or ''."""
        rows = self._read(path)
        if not rows:
            return "the file has no lines"
        known = {i["item_id"]: i for i in self.items.values()}
        key = "order_id" if path.name.startswith("SO_") else "credit_note_id"
        for number, row in enumerate(rows, start=2):
            if not row.get(key, "").strip():
                return f"row {number}: {self.column(key)} is required"
            for field, value in row.items():
                if len(value) > _TEXT_LIMIT:
                    column = self.column(field)
                    return f"row {number}: {column} is {len(value)} characters; it holds {_TEXT_LIMIT}"
            item = known.get(row.get("item_id", ""))
            if item is None:
                return f"row {number}: {self.column('item_id')} {row.get('item_id')!r} is not a known item"
            qty = Decimal(row["qty"])
            if qty <= 0 or qty != qty.to_integral_value():
                return f"row {number}: {self.column('qty')} {row['qty']} must be a positive whole number"
        if path.name.startswith("SO_"):
            return self._import_order(rows)
        if path.name.startswith("CN_"):
            return self._import_credit_note(rows)
        return "not a sales order or credit note file"

    def _import_order(self, rows: list[dict[str, str]]) -> str:
        external_id = rows[0]["order_id"]
        if external_id in self.orders and self.enforce_unique:
            return f"web order {external_id} was already imported as {self.order_refs[external_id]}"
        if not item_active_all(rows, self.items):
            return "an item on the order is discontinued"
        self.order_counts[external_id] += 1
        if external_id not in self.orders:
            self.orders[external_id] = rows
            self.order_refs[external_id] = f"MO{self._next():07d}"
        return ""

    def _import_credit_note(self, rows: list[dict[str, str]]) -> str:
        head = rows[0]
        external_id, order_id = head["credit_note_id"], head["order_id"]
        if order_id not in self.orders:
            return f"web order {order_id} is not in the ERP"
        if external_id in self.credit_counts and self.enforce_unique:
            return f"credit note {external_id} was already imported"
        self.credit_counts[external_id] += 1
        net = sum((Decimal(r["net"]) for r in rows), Decimal(0)) + Decimal(head["shipping_net"] or 0)
        tax = sum((Decimal(r["tax"]) for r in rows), Decimal(0)) + Decimal(head["shipping_tax"] or 0)
        net += Decimal(head["adjustment"] or 0)
        self._post_ledger(
            _now().date(), "CRN", f"CRN{self._next():06d}", order_id, head["currency"], net, tax
        )
        return ""

    # --- life cycle ----------------------------------------------------------------------------------

    def _cleanup(self) -> None:
        for folder in self.poll_folders:
            _WATCHED.pop(folder, None)
        shutil.rmtree(self.home, ignore_errors=True)


def item_active_all(rows: Sequence[Mapping[str, str]], items: Mapping[str, Mapping[str, Any]]) -> bool:
    by_id = {i["item_id"]: i for i in items.values()}
    return all(by_id[r["item_id"]]["active"] for r in rows)


# The ERP's text columns hold this many characters (trueup trims descriptions well inside it).
_TEXT_LIMIT = 255

_ALL_OUTBOUND_FIELDS = (
    "order_id",
    "description",
    "credit_note_id",
    "currency",
    "item_id",
    "sku",
    "qty",
    "net",
    "discount",
    "tax",
    "shipping_net",
    "shipping_tax",
    "adjustment",
    "grand_total",
    "total",
)


class MerretSandbox(_FileErp):
    """Merret: the Merret profile's files over a real SFTP server on 127.0.0.1 (password login)."""

    kind = "merret"
    merret = True
    secret_env = "SANDBOX_MERRET_SECRET"
    username = "trueup"

    def __init__(self, *, seed: int = 0, faults: Faults | None = None, enforce_unique: bool = True) -> None:
        super().__init__(seed=seed, faults=faults, enforce_unique=enforce_unique)
        self.password = f"sandbox-{seed}-{os.urandom(6).hex()}"
        self.server = SftpServerThread(
            lambda chan: _ErpSftp(chan, self.root, self), self.username, self.password
        )
        self.known_hosts = self.home / "known_hosts"

    def start(self) -> None:
        self.server.start()
        self.known_hosts.write_text(self.server.known_hosts_line, encoding="utf-8")

    def stop(self) -> None:
        self.server.stop()
        self._cleanup()

    def erp_config(self) -> dict[str, Any]:
        return {
            "kind": "merret",
            "name": "merret",
            "token_env": self.secret_env,
            "merret": {
                "transport": "sftp",
                "host": "127.0.0.1",
                "port": self.server.port,
                "username": self.username,
                "root": "",
                "known_hosts": str(self.known_hosts),
                **({"acknowledgement": "file"} if self.ack_files else {}),
            },
        }

    def env(self) -> dict[str, str]:
        return {self.secret_env: self.password}


class FilesSandbox(_FileErp):
    """The generic files ERP: the neutral profile's files in a local folder."""

    kind = "files"

    def start(self) -> None:
        for folder in self.poll_folders:
            _watch(Path(folder), self.run_batch)

    def stop(self) -> None:
        self._cleanup()

    def erp_config(self) -> dict[str, Any]:
        options: dict[str, Any] = {"transport": "local", "root": str(self.root)}
        if self.ack_files:
            options["acknowledgement"] = "file"
        return {"kind": "files", "name": "files", "files": options}

    def env(self) -> dict[str, str]:
        return {}
