"""The folders a file ERP exchanges through, and the plumbing every inbound read shares: list a kind's
files, load one whole, park an unusable one in `inbound/error/` with a note, and move a taken one to
`inbound/done/` (recording its name and checksum in `.trueup-seen`). Layout: docs/connectors/files.md.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from trueup.connectors.files.profile import MalformedFile, Profile, RecordKind, Row
from trueup.connectors.files.transport import Transport

log = logging.getLogger("trueup.connectors.files")

OUTBOUND = "outbound"
INBOUND = "inbound"
PENDING, DONE, ERROR = "pending", "done", "error"
SEEN = f"{INBOUND}/.trueup-seen"


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


class FileFolders:
    """A transport and a profile, and what has been refused or applied from them so far."""

    def __init__(self, transport: Transport, profile: Profile, *, name: str) -> None:
        self.transport = transport
        self.profile = profile
        self.name = name
        self.rejected_files: list[RejectedFile] = []
        self.rejected_rows: list[RejectedRow] = []
        self._seen: set[tuple[str, str]] | None = None

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
