"""Units of work as the ledger holds them, and the outcome a flow reports for each.

A flow never touches the database: it returns outcomes, and the runtime records them in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from trueup.model.exceptions import REASONS, Owner, Reason


class Status(StrEnum):
    TODO = "todo"
    DOING = "doing"
    RETRYING = "retrying"
    WAITING = "waiting"  # a precondition outside trueup (payment capture) is not met yet
    SENT = "sent"  # handed to a batch ERP (a file written); posted only once the ERP acknowledges it
    DONE = "done"
    PARKED = "parked"  # an exception: needs a person
    RESOLVED = "resolved"  # a person fixed it outside trueup
    IGNORED = "ignored"


ACTIVE = (Status.TODO, Status.DOING, Status.RETRYING, Status.WAITING, Status.SENT)
# A row in one of these blocks later rows with the same lock (per-lock FIFO).
BLOCKING = (*ACTIVE, Status.PARKED)


class Band(StrEnum):
    RETRIABLE = "retriable"
    SKIPPABLE = "skippable"
    FATAL = "fatal"


@dataclass(frozen=True, slots=True)
class NewWork:
    """A unit of work found by observation. `key` is unique per `kind`; re-observing it is a no-op
    unless `source_version` changed, in which case an unfinished row is re-planned."""

    kind: str
    key: str
    lane: str
    lock: str
    payload: str
    source_version: str
    parked: Problem | None = None


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    key: str
    lock: str
    payload: str
    attempts: int
    source_version: str
    # When the record was handed to an ERP that acknowledges later (a file written); None until then.
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a record cannot go on: becomes an exception with an owner and a resolution."""

    reason: Reason
    owner: Owner
    message: str
    field: str = ""
    impact_minor: int = 0
    currency: str | None = None
    system: str = ""  # the system at fault, by name; empty means the reason's side (see REASONS)

    @classmethod
    def of(
        cls,
        reason: Reason,
        message: str,
        *,
        field: str = "",
        impact_minor: int = 0,
        currency: str | None = None,
        system: str = "",
    ) -> Problem:
        """A problem owned by its reason's team, its message ending in the reason's "Resolution:"."""
        info = REASONS[reason]
        text = f"{message} Resolution: {info.resolution}"
        return cls(reason, info.owner, text, field, impact_minor, currency, system)


@dataclass(frozen=True, slots=True)
class Done:
    job: Job
    result: str
    link_kind: str | None = None
    storefront: str = ""
    erp: str = ""
    note: str = ""  # what was adjusted to fit the ERP (text trimmed), kept in the ledger's detail


@dataclass(frozen=True, slots=True)
class Sent:
    """Handed to the ERP, which answers later (a batch ERP takes the file, or refuses it). Recorded as
    `sent` with `ref`; the job comes back at `at` to ask for the acknowledgement. No link is written yet:
    the record is posted only when the ERP accepts it."""

    job: Job
    ref: str
    sent_at: datetime
    at: datetime
    note: str = ""  # as on Done: kept until the ERP settles it, then carried onto the done row


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again later. A flow leaves `at` unset; the runtime's retry policy fills it in."""

    job: Job
    error: str
    retry_after: float | None = None
    at: datetime | None = None
    band: Band = Band.RETRIABLE


@dataclass(frozen=True, slots=True)
class Wait:
    job: Job
    problem: Problem
    at: datetime


@dataclass(frozen=True, slots=True)
class Park:
    job: Job
    problem: Problem
    band: Band = Band.SKIPPABLE


@dataclass(frozen=True, slots=True)
class Skip:
    """Nothing to do, for a reason worth keeping (e.g. cancelled before payment)."""

    job: Job
    problem: Problem


Outcome = Done | Sent | Retry | Wait | Park | Skip


@dataclass(frozen=True, slots=True)
class InputRejection:
    """Something a connector read and refused before any flow saw it (a malformed ERP file, a bad row).

    It becomes an exception in the one queue, so that it is seen and owned like any other."""

    source: str  # the system it came from, by name
    key: str  # what was refused: a file name, "file#row"
    message: str  # what is wrong, ending in "Resolution: ..."
    reason: Reason = Reason.MALFORMED_RECORD
    field: str = ""
    impact_minor: int = 0  # money at risk, when the refusal has a price (a short shipment)
    currency: str | None = None
