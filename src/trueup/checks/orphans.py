"""The orphan sweep's planner: storefront order headers against trueup's ledger → findings and repairs.

Pure: no I/O, no clock (`now` is passed in). A paid order with no ERP link is the most expensive failure
there is, so this is a second net behind observation, judged from the storefront's side:

- an order that should post (paid by the order flow's own rule, not cancelled, placed after go-live) and
  has no ledger row although observation has read past it, or whose row has sat unfinished past the SLA,
  is an `orphaned_order` finding; a missing row, or a row holding an older version of the order, is
  repaired by reading the order again and putting it into the ledger as observation would;
- an open finding whose cause is gone (the order is linked, or no longer due to post, or a person owns
  it in the exception queue) is cleared;
- linked orders are candidates for asking the ERP whether it still knows them (`missing_in_erp`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from trueup.model.checks import Clear, Finding, LedgerView, Resend
from trueup.model.exceptions import Reason
from trueup.model.money import to_minor
from trueup.model.work import ACTIVE, Problem, Status
from trueup.ports import OrderHeader, storefront_version
from trueup.rules.payment import payable_states

ORPHANED = Reason.ORPHANED_ORDER
MISSING = Reason.MISSING_IN_ERP

# Finding row states as the ledger view reports them. "cleared" is a finding the engine resolved itself
# (its cause went away); a finding a person resolved or ignored is their decision and is never reopened.
OPEN = (str(Status.PARKED), str(Status.TODO))
CLEARED = "cleared"
DECIDED = (str(Status.RESOLVED), str(Status.IGNORED))
# An order row in one of these is owned by a person (an exception) or settled: not the sweep's business.
_SETTLED = (str(Status.PARKED), str(Status.IGNORED), str(Status.RESOLVED))


@dataclass(frozen=True, slots=True)
class OrphanRules:
    sla: timedelta = timedelta(minutes=30)
    post_when: str = "captured"  # the order flow's `[flows.orders] post_when`
    go_live: datetime | None = None  # orders placed before it were never trueup's to post


@dataclass(frozen=True, slots=True)
class Candidate:
    """A linked order the ERP may be asked about; `open` is the status of its missing_in_erp finding."""

    header: OrderHeader
    erp_ref: str
    open: str | None = None


@dataclass(frozen=True, slots=True)
class OrphanPlan:
    findings: list[Finding] = field(default_factory=list)
    clears: list[Clear] = field(default_factory=list)
    resends: list[Resend] = field(default_factory=list)
    linked: list[Candidate] = field(default_factory=list)


def should_post(header: OrderHeader, rules: OrphanRules) -> bool:
    """Paid by the same rule the order flow posts by (`post_when`), and not cancelled or closed."""
    if header.payment not in payable_states(rules.post_when):
        return False
    return rules.go_live is None or header.created_at >= rules.go_live


def _describe(h: OrderHeader) -> str:
    return (
        f"Order {h.key} (entity {h.entity_id}, {h.state}/{h.status}, payment {h.payment}, "
        f"{h.grand_total} {h.currency}, last updated {h.version})"
    )


def _orphan(h: OrderHeader, text: str, status: str | None, repair: bool) -> Finding:
    if repair:
        text += " Repaired: the sweep read the order again and put it into the ledger to post."
    problem = Problem.of(
        ORPHANED, text, impact_minor=to_minor(h.grand_total), currency=h.currency, system="trueup"
    )
    return Finding(h.key, problem, new=status != Status.PARKED, repair=h.entity_id if repair else None)


def unrepaired(finding: Finding, error: str) -> Finding:
    """The same finding when reading the order again failed: it says so, and the next sweep tries again."""
    text = finding.problem.message.split(" Repaired: ")[0]
    text = text.split(" Resolution: ")[0]
    text += f" Not repaired yet ({error}); the next sweep tries again."
    problem = Problem.of(
        ORPHANED,
        text,
        impact_minor=finding.problem.impact_minor,
        currency=finding.problem.currency,
        system=finding.problem.system,
    )
    return replace(finding, problem=problem, repair=None)


def plan_orphans(
    headers: Sequence[OrderHeader],
    ledger: Mapping[str, LedgerView],
    now: datetime,
    rules: OrphanRules,
    observed_until: datetime | None,
) -> OrphanPlan:
    """Judge one page of storefront orders against the ledger. `observed_until` is how far observation
    has read: an order updated after it is observation's to find, not yet an orphan."""
    plan = OrphanPlan()
    empty = LedgerView()
    for h in headers:
        view = ledger.get(h.key, empty)
        orphan = view.findings.get(ORPHANED)
        missing = view.findings.get(MISSING)
        if view.erp_ref is not None or view.status == Status.DONE:
            if orphan in OPEN:
                ref = view.erp_ref or "its ERP sales order"
                plan.clears.append(Clear(ORPHANED, h.key, f"order {h.key} is posted and linked to {ref}"))
            if view.erp_ref is not None:
                if missing == Status.TODO:  # a person retried the missing_in_erp finding: send it again
                    plan.resends.append(Resend(h.key))
                else:
                    plan.linked.append(Candidate(h, view.erp_ref, missing))
            continue
        finding = _judge(h, view, now, rules, observed_until) if orphan not in DECIDED else None
        if finding is not None:
            plan.findings.append(finding)
        elif orphan in OPEN:
            plan.clears.append(Clear(ORPHANED, h.key, _why_not(h, view, rules)))
    return plan


def _judge(
    h: OrderHeader, view: LedgerView, now: datetime, rules: OrphanRules, observed_until: datetime | None
) -> Finding | None:
    if not should_post(h, rules) or view.status in _SETTLED:
        return None
    orphan = view.findings.get(ORPHANED)
    late = now - h.updated_at > rules.sla
    if view.status is None:
        # Observation owns the newest orders: judge only what it has read past, and what is past the
        # SLA, so that an order placed a moment ago is not called an orphan.
        if observed_until is None or h.updated_at > observed_until or not late:
            return None
        text = (
            f"{_describe(h)} is paid and has no row in trueup's ledger, although observation has read "
            f"past it (to {observed_until.isoformat(sep=' ')}): observation missed it."
        )
        return _orphan(h, text, orphan, repair=True)
    if view.status not in ACTIVE or not late:
        return None
    stale = storefront_version(view.version) != h.version and view.status != Status.DOING
    text = (
        f"{_describe(h)} is paid and still {view.status} in trueup's ledger more than "
        f"{int(rules.sla.total_seconds() // 60)} minutes after it was last updated."
    )
    if stale:
        text += f" The ledger held an older version of it ({view.version})."
    else:
        text += " It stays queued; its ledger row shows the last error."
    return _orphan(h, text, orphan, repair=stale)


def _why_not(h: OrderHeader, view: LedgerView, rules: OrphanRules) -> str:
    if not should_post(h, rules):
        return f"order {h.key} is no longer due to post (payment {h.payment}, {h.state})"
    if view.status in _SETTLED:
        return f"order {h.key} is {view.status} in the ledger, owned in the exception queue"
    return f"order {h.key} is queued ({view.status}) within the SLA"


@dataclass(frozen=True, slots=True)
class Verified:
    """What the ERP answered for one linked order: its sales order reference, or None if unknown."""

    candidate: Candidate
    found: str | None


def plan_missing_in_erp(results: Sequence[Verified], erp: str) -> tuple[list[Finding], list[Clear]]:
    """A linked order the ERP does not know is a finding (never re-sent by itself: a person decides); one
    it knows again clears its finding."""
    findings: list[Finding] = []
    clears: list[Clear] = []
    for r in results:
        c = r.candidate
        h = c.header
        if r.found is None:
            if c.open in DECIDED:
                continue
            text = (
                f"{_describe(h)} is linked to ERP sales order {c.erp_ref}, but {erp} finds no sales order "
                f"for it: the ERP lost it or it was deleted there."
            )
            problem = Problem.of(
                MISSING, text, impact_minor=to_minor(h.grand_total), currency=h.currency, system=erp
            )
            findings.append(Finding(h.key, problem, new=c.open != Status.PARKED))
        elif c.open in OPEN:
            clears.append(Clear(MISSING, h.key, f"{erp} finds order {h.key} again ({r.found})"))
    return findings, clears
