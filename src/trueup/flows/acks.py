"""Batch ERPs answer later: a record handed over as a file is `sent`, and posted only once the ERP took it.

`settle` turns the ERP's acknowledgement into an outcome: taken → Done (and the link), refused → parked
`erp_rejected` with the ERP's own error text and the money at risk, not answered → asked again later,
until the acknowledgement timeout makes it an `erp_not_acknowledged` exception.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta

from trueup.errors import Retriable, Skippable
from trueup.model.exceptions import Reason
from trueup.model.work import Done, Job, Outcome, Park, Problem, Retry, Sent
from trueup.ports import Ack, AckState, Clock


@dataclass(frozen=True, slots=True)
class AckPolicy:
    check_every: timedelta = timedelta(minutes=1)
    timeout: timedelta = timedelta(hours=4)


@dataclass(frozen=True, slots=True)
class Settling:
    """One sent record: what it is (for messages), its link kind and the money it carries."""

    job: Job
    what: str  # e.g. "Order 000000012"
    link_kind: str
    storefront: str
    erp: str
    impact_minor: int
    currency: str


def sent(job: Job, ref: str, now: datetime, policy: AckPolicy) -> Sent:
    """Just handed over (or found handed over by an earlier attempt): ask again after `check_every`."""
    return Sent(job, ref, job.sent_at or now, now + policy.check_every)


def settle(record: Settling, ack: Ack, now: datetime, policy: AckPolicy) -> Outcome:
    job = record.job
    if ack.state == AckState.ACCEPTED:
        return Done(job, ack.ref, record.link_kind, storefront=record.storefront, erp=record.erp)
    if ack.state == AckState.REFUSED:
        problem = Problem.of(
            Reason.ERP_REJECTED,
            f"{record.what}: the {record.erp} batch refused file {ack.ref}: {ack.text}. Once fixed, retry: "
            "trueup writes the file again (where the ERP keeps refused files in an error folder, delete "
            "it there first).",
            field="file",
            impact_minor=record.impact_minor,
            currency=record.currency,
            system=record.erp,
        )
        return Park(job, problem)
    since = job.sent_at or now
    if now - since >= policy.timeout:
        minutes = int(policy.timeout.total_seconds() // 60)
        problem = Problem.of(
            Reason.ERP_NOT_ACKNOWLEDGED,
            f"{record.what}: file {ack.ref} was written at {since.isoformat(timespec='seconds')} and the "
            f"{record.erp} batch has neither taken nor refused it within {minutes} minutes ({ack.text}).",
            field="file",
            impact_minor=record.impact_minor,
            currency=record.currency,
            system=record.erp,
        )
        return Park(job, problem)
    return Sent(job, ack.ref, since, now + policy.check_every)


def failed(record: Settling, exc: Retriable | Skippable) -> Outcome:
    """The acknowledgement could not be read: retry a transient failure, park what is about this record."""
    if isinstance(exc, Retriable):
        return Retry(record.job, str(exc), retry_after=exc.retry_after)
    problem = Problem(
        exc.reason,
        exc.owner,
        f"{record.what}: {exc}",
        exc.field,
        record.impact_minor,
        record.currency,
        record.erp,
    )
    return Park(record.job, problem)


async def acknowledge(record: Settling, asking: Awaitable[Ack], clock: Clock, policy: AckPolicy) -> Outcome:
    """Ask the ERP (`asking`: the port's call for this record) and settle the record by its answer."""
    try:
        ack = await asking
    except (Retriable, Skippable) as exc:
        return failed(record, exc)
    return settle(record, ack, clock.now(), policy)
