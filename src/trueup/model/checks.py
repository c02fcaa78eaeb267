"""Records of the drift and reconciliation checks: what the ledger says about an order, and what a check
found, repaired or cleared. The checks plan with them; the store writes them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from trueup.model.work import NewWork, Problem

# A finding is a parked `work` row of kind `check.<reason>`, keyed by the order id, in the `checks` lane.
# The (kind, key) unique constraint makes a finding found on every sweep one row, not one per sweep.
FINDING_LANE = "checks"


def finding_kind(reason: str) -> str:
    return f"check.{reason}"


@dataclass(frozen=True, slots=True)
class LedgerView:
    """What trueup's ledger and links say about one storefront order."""

    status: str | None = None  # the order's own `order.post` row; None: the ledger has no row
    version: str = ""  # that row's source_version (the order's updated_at as the storefront wrote it)
    erp_ref: str | None = None  # the linked ERP sales order; None: not linked
    findings: Mapping[str, str] = field(default_factory=dict)  # finding reason -> its row's status


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a check found, for the exception queue. `repair` names the order to re-read and put into
    the ledger (its entity id), when the check repairs what it found."""

    key: str
    problem: Problem
    new: bool  # not open already: audited as found
    repair: int | None = None


@dataclass(frozen=True, slots=True)
class Clear:
    """An open finding whose cause is gone: resolved by the engine, audited with `why`."""

    reason: str
    key: str
    why: str


@dataclass(frozen=True, slots=True)
class Resend:
    """A person retried a `missing_in_erp` finding: post the order again (its row back to todo, its stale
    link removed)."""

    key: str


@dataclass(frozen=True, slots=True)
class SweepWrite:
    """One page of a sweep, written in one transaction: orders put into the ledger, findings, clears."""

    repairs: Sequence[NewWork] = ()
    findings: Sequence[Finding] = ()
    clears: Sequence[Clear] = ()
    resends: Sequence[Resend] = ()
