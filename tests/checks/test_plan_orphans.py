"""The orphan planner, as properties over any page of orders and any ledger state."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from trueup.checks.orphans import (
    CLEARED,
    Candidate,
    OrphanRules,
    Verified,
    plan_missing_in_erp,
    plan_orphans,
    should_post,
)
from trueup.model.checks import LedgerView
from trueup.model.money import to_minor
from trueup.model.orders import PaymentState
from trueup.ports import OrderHeader

NOW = datetime(2026, 11, 29, 12, 0, 0)
STATUSES = [None, "todo", "doing", "retrying", "waiting", "done", "parked", "ignored", "resolved"]
FINDING_STATES = [None, "parked", "todo", "resolved", "ignored", CLEARED]


@st.composite
def pages(draw: st.DrawFn) -> tuple[list[OrderHeader], dict[str, LedgerView]]:
    n = draw(st.integers(0, 12))
    headers: list[OrderHeader] = []
    views: dict[str, LedgerView] = {}
    for i in range(n):
        updated = NOW - timedelta(minutes=draw(st.integers(0, 600)))
        version = updated.strftime("%Y-%m-%d %H:%M:%S")
        h = OrderHeader(
            key=f"{i:09d}",
            entity_id=i + 1,
            state=draw(st.sampled_from(["new", "processing", "complete", "canceled"])),
            status="x",
            payment=draw(st.sampled_from(list(PaymentState))),
            grand_total=Decimal(draw(st.integers(1, 100_000))) / 100,
            currency="GBP",
            created_at=updated - timedelta(minutes=draw(st.integers(0, 60))),
            updated_at=updated,
            version=version,
        )
        headers.append(h)
        status = draw(st.sampled_from(STATUSES))
        findings = {
            reason: state
            for reason in ("orphaned_order", "missing_in_erp")
            if (state := draw(st.sampled_from(FINDING_STATES))) is not None
        }
        views[h.key] = LedgerView(
            status=status,
            version=draw(st.sampled_from([version, "2000-01-01 00:00:00"])),
            erp_ref=draw(st.sampled_from([None, f"SO-{i}"])),
            findings=findings,
        )
    return headers, views


rules_st = st.builds(
    OrphanRules,
    sla=st.integers(0, 120).map(lambda m: timedelta(minutes=m)),
    post_when=st.sampled_from(["captured", "authorised"]),
    go_live=st.sampled_from([None, NOW - timedelta(hours=5)]),
)
observed_st = st.sampled_from([None, NOW - timedelta(hours=3), NOW])


@settings(max_examples=400)
@given(pages(), rules_st, observed_st)
def test_only_unposted_orders_that_should_post_are_orphans(
    page: tuple[list[OrderHeader], dict[str, LedgerView]], rules: OrphanRules, observed: datetime | None
) -> None:
    headers, views = page
    plan = plan_orphans(headers, views, NOW, rules, observed)
    by_key = {h.key: h for h in headers}
    for f in plan.findings:
        h, v = by_key[f.key], views[f.key]
        assert should_post(h, rules)
        assert v.erp_ref is None and v.status not in ("done", "parked", "ignored", "resolved")
        assert v.findings.get("orphaned_order") not in ("resolved", "ignored")  # a person's decision
        assert NOW - h.updated_at > rules.sla
        assert f.problem.reason == "orphaned_order" and f.problem.owner == "ecommerce"
        assert f.problem.system == "trueup" and "Resolution:" in f.problem.message
        assert f.problem.impact_minor == to_minor(h.grand_total) and f.problem.currency == "GBP"
        if v.status is None:  # a missing row is repaired, and only once observation has read past it
            assert observed is not None and h.updated_at <= observed
            assert f.repair == h.entity_id and "Repaired:" in f.problem.message
        else:
            assert (f.repair is not None) == (v.version != h.version and v.status != "doing")
        assert f.new == (v.findings.get("orphaned_order") != "parked")
    found = {f.key for f in plan.findings}
    cleared = {c.key for c in plan.clears if c.reason == "orphaned_order"}
    assert not found & cleared
    for key in cleared:  # only an open finding is cleared
        assert views[key].findings.get("orphaned_order") in ("parked", "todo")
    for key, v in views.items():  # an open finding is either found again or cleared: never left stale
        if v.findings.get("orphaned_order") in ("parked", "todo"):
            assert key in found | cleared
    linked = {c.header.key for c in plan.linked} | {r.key for r in plan.resends}
    assert linked == {k for k, v in views.items() if v.erp_ref is not None}


@given(pages(), rules_st)
def test_a_no_row_orphan_is_found_exactly_when_paid_past_the_sla_and_observed(
    page: tuple[list[OrderHeader], dict[str, LedgerView]], rules: OrphanRules
) -> None:
    headers, _ = page
    plan = plan_orphans(headers, {}, NOW, rules, NOW)
    expected = {h.key for h in headers if should_post(h, rules) and NOW - h.updated_at > rules.sla}
    assert {f.key for f in plan.findings} == expected
    assert all(f.repair is not None for f in plan.findings)
    # once repaired (a todo row at the storefront's version) nothing is repaired again
    repaired = {h.key: LedgerView("todo", h.version, findings={"orphaned_order": "parked"}) for h in headers}
    again = plan_orphans(headers, repaired, NOW, rules, NOW)
    assert {f.key for f in again.findings} == expected and all(f.repair is None for f in again.findings)
    # and once posted, every finding clears
    posted = {h.key: LedgerView("done", h.version, "SO-1", {"orphaned_order": "parked"}) for h in headers}
    done = plan_orphans(headers, posted, NOW, rules, NOW)
    assert not done.findings and {c.key for c in done.clears} == {h.key for h in headers}


@given(pages(), rules_st, observed_st, st.integers(0, 600))
def test_a_longer_sla_never_finds_more(
    page: tuple[list[OrderHeader], dict[str, LedgerView]],
    rules: OrphanRules,
    observed: datetime | None,
    more: int,
) -> None:
    headers, views = page
    short = plan_orphans(headers, views, NOW, rules, observed)
    longer = OrphanRules(rules.sla + timedelta(minutes=more), rules.post_when, rules.go_live)
    long = plan_orphans(headers, views, NOW, longer, observed)
    assert {f.key for f in long.findings} <= {f.key for f in short.findings}


@given(pages(), st.lists(st.booleans(), min_size=12, max_size=12))
def test_the_erp_not_knowing_a_linked_order_is_a_finding_and_knowing_it_clears(
    page: tuple[list[OrderHeader], dict[str, LedgerView]], known: list[bool]
) -> None:
    headers, views = page
    results = [
        Verified(
            Candidate(h, f"SO-{i}", views[h.key].findings.get("missing_in_erp")),
            f"SO-{i}" if known[i] else None,
        )
        for i, h in enumerate(headers)
    ]
    findings, clears = plan_missing_in_erp(results, "erp")
    for r in results:
        state = r.candidate.open
        key = r.candidate.header.key
        in_findings = key in {f.key for f in findings}
        in_clears = key in {c.key for c in clears}
        if r.found is None:
            assert in_findings == (state not in ("resolved", "ignored")) and not in_clears
        else:
            assert not in_findings and in_clears == (state in ("parked", "todo"))
    for f in findings:
        assert f.problem.reason == "missing_in_erp" and f.problem.system == "erp" and f.repair is None
        assert f.problem.impact_minor > 0 and "Resolution:" in f.problem.message
