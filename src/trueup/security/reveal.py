"""What an operator sees of an exception: masked by default, in full only through an audited reveal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from trueup.security.pii import mask_payload, mask_text
from trueup.store.state import add_audit


def masked_view(found: dict[str, Any]) -> dict[str, Any]:
    """An exception as `exceptions show` returns it, with the payload's personal data masked and e-mail
    addresses and phone numbers masked in its texts (the detail, the audit notes)."""
    return {
        **found,
        "detail": mask_text(found["detail"]) if found.get("detail") else found.get("detail"),
        "payload": mask_payload(found["payload"]),
        "audit": [{**e, "note": mask_text(str(e.get("note", "")))} for e in found.get("audit", [])],
    }


def record_reveal(conn: Connection, found: dict[str, Any], *, actor: str, note: str) -> None:
    """Audit that `actor` saw this row's personal data, and why."""
    add_audit(
        conn,
        at=datetime.now(UTC).replace(tzinfo=None),
        actor=actor,
        action="reveal",
        kind=found["kind"],
        key=found["key"],
        note=note,
        detail={"id": found["id"], "what": "payload unmasked"},
    )
