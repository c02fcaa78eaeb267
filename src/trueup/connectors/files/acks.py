"""What a file ERP's batch made of a file trueup wrote: taken, refused, or not yet looked at.

The acknowledgement rule (docs/connectors/files.md, merret.md): the ERP's import batch moves each file it
reads from `outbound/pending/` to `outbound/done/` when it took the record, or to `outbound/error/` with a
`<name>.error.txt` saying why when it refused it. A file still in pending has not been read yet.
"""

from __future__ import annotations

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
