"""What a file ERP's batch made of a file trueup wrote: taken, refused, or not yet looked at.

Two acknowledgement rules (docs/connectors/files.md, merret.md), one per profile:
- "moved": the ERP's import batch moves each file it reads from `outbound/pending/` to `outbound/done/` when
  it took the record, or to `outbound/error/` with a `<name>.error.txt` saying why when it refused it. A
  file still in pending has not been read yet.
- "file": the ERP writes acknowledgement files (`inbound/pending/ACK_<YYYYMMDDTHHMMSS>.csv`), one row per
  file it read: `file`, `status` (accepted or refused) and `message` (why it refused). `AckFileAnswers`
  holds what they said; a file no acknowledgement names yet is pending.
"""

from __future__ import annotations

from collections.abc import Sequence

from trueup.connectors.files.profile import Row
from trueup.connectors.files.rows import RowError
from trueup.connectors.files.transport import Transport
from trueup.ports import Ack, AckState

OUTBOUND = "outbound"
PENDING, DONE, ERROR = "pending", "done", "error"


async def refusal_text(transport: Transport, name: str) -> str:
    """The ERP's own error text for a refused file (its `.error.txt`), trimmed to what an exception holds."""
    note = await transport.read(f"{OUTBOUND}/{ERROR}/{name}.error.txt")
    text = note.decode(errors="replace").strip() if note else ""
    text = " ".join(text.split())  # one line: the ERP's text may hold a file's worth of line breaks
    if len(text) > 2000:
        text = f"{text[:2000]}… ({len(text)} characters in {name}.error.txt)"
    return text or "no reason file was left with it"


async def acknowledgement(transport: Transport, name: str) -> Ack:
    """Where the file is now. Pending is looked at by listing the folder, the call a batch ERP sees (a
    watch on the folder, the SFTP server's directory read); done before error, as the ERP only ever moves
    pending -> done|error, so a file seen in neither after leaving pending was moved between two calls."""
    if name in await transport.list(f"{OUTBOUND}/{PENDING}"):
        return Ack(AckState.PENDING, name, f"{name} is still in {OUTBOUND}/{PENDING}")
    if await transport.exists(f"{OUTBOUND}/{DONE}/{name}"):
        return Ack(AckState.ACCEPTED, name)
    if await transport.exists(f"{OUTBOUND}/{ERROR}/{name}"):
        return Ack(AckState.REFUSED, name, await refusal_text(transport, name))
    return Ack(
        AckState.PENDING,
        name,
        f"{name} is in none of {OUTBOUND}/{PENDING}, {DONE} or {ERROR} (moved or deleted outside trueup)",
    )


_ACCEPTED = {"accepted", "ok", "imported", "done", "a"}
_REFUSED = {"refused", "rejected", "error", "failed", "r", "e"}


class AckFileAnswers:
    """What the ERP's acknowledgement files said, by outbound file name (a later answer wins: the ERP
    answers again for a file trueup re-sent after it was fixed)."""

    def __init__(self) -> None:
        self.answers: dict[str, Ack] = {}
        self.read: set[str] = set()  # acknowledgement files already taken in
        self.loaded_done = False  # the ones a previous process moved to done/ are read once, at start

    def take(self, rows: Sequence[Row]) -> None:
        """Every row of one acknowledgement file; raises RowError (nothing taken) for a row it cannot use."""
        found: dict[str, Ack] = {}
        for row in rows:
            name, status = row.get("file"), row.get("status").lower()
            if not name:
                raise RowError(row, "file is empty")
            if status in _ACCEPTED:
                found[name] = Ack(AckState.ACCEPTED, name)
            elif status in _REFUSED:
                text = " ".join(row.get("message").split()) or "the acknowledgement gives no reason"
                found[name] = Ack(AckState.REFUSED, name, text[:2000])
            else:
                raise RowError(row, f"status {status!r} is neither accepted nor refused")
        self.answers.update(found)

    def answer(self, name: str) -> Ack:
        return self.answers.get(name) or Ack(
            AckState.PENDING, name, f"no acknowledgement file names {name} yet"
        )
