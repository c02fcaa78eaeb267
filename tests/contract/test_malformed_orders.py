"""Hostile orders through every ERP connector: the pass completes, every good order is posted once, and
each bad one is parked, refused before sending by trueup's own checks, or with the ERP's own message."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from tests.conftest import FakeClock
from tests.contract.conftest import Case
from tests.contract.passes import ItemsFromErp, Runner, erp_items, order
from tests.contract.test_erp_contract import sales_order
from trueup.errors import Fatal, Skippable
from trueup.model.exceptions import Reason
from trueup.model.work import Status
from trueup.ports import Acknowledgements, AckState
from trueup.store import Store

GOOD = ("TU0001-M-Navy", "1", "Tee 1 M Navy")
HUGE_NAME = "Tee " + "x" * 5_000_000  # a 5 MB item name


async def test_malformed_orders_are_parked_one_by_one_and_the_pass_completes(
    case: Case, sqlite_url: str, clock: FakeClock
) -> None:
    items = await erp_items(case.erp)
    # The ERP discontinued this item after trueup last read its item master: only the ERP can refuse it.
    items["TU0003-OLD"] = replace(items["TU0003-OLD"], active=True)
    now = clock.now()
    hostile = {
        "000000301": (order("000000301", ("TU0001-M-Navy", "0", "Tee"), at=now), Reason.INVALID_QUANTITY),
        "000000302": (order("000000302", ("TU0001-M-Navy", "-1", "Tee"), at=now), Reason.INVALID_QUANTITY),
        "000000303": (order("000000303", ("TU0002", "0.5", "Accessory"), at=now), Reason.INVALID_QUANTITY),
        "": (order("", GOOD, at=now), Reason.INVALID_IDENTIFIER),
        "9" * 40: (order("9" * 40, GOOD, at=now), Reason.INVALID_IDENTIFIER),
        "000000306": (order("000000306", ("TU0003-OLD", "1", "Retired tee"), at=now), Reason.ERP_REJECTED),
    }
    good = ["000000310", "000000311", "000000312"]
    orders = [o for o, _ in hostile.values()] + [order(k, GOOD, at=now) for k in good[:2]]
    orders.append(order(good[2], ("TU0002", "2", HUGE_NAME), at=now))  # descriptive: trimmed, then posted
    store = Store(sqlite_url)
    try:
        runner = Runner(case.erp, store, clock, ItemsFromErp(items))
        runner.enqueue(orders)
        await runner.drain()  # a Fatal here would fail the test: one order must never stop the pass
        rows = runner.rows()
    finally:
        store.close()
    for key, (_, reason) in hostile.items():
        row = rows[key]
        assert (row["status"], row["reason"]) == (Status.PARKED, reason), (key, row["detail"])
        assert "Resolution:" in row["detail"] and row["owner"] and row["field"]
    refused = rows["000000306"]
    assert refused["system"] == case.erp.name
    assert ERP_MESSAGE[case.kind] in refused["detail"]
    assert rows["000000301"]["field"] == "lines[0].qty"
    assert rows["000000306"]["impact_minor"] == 1200
    assert rows[good[2]]["status"] == Status.DONE
    assert "lines[0].name trimmed from 5000004 to" in rows[good[2]]["detail"]
    assert [rows[k]["status"] for k in good] == [Status.DONE] * 3
    assert case.sandbox.sales_order_counts() == dict.fromkeys(good, 1)


# What each sandbox says when it refuses an order for a discontinued item: the ERP's own words.
ERP_MESSAGE = {
    "rest": "inactive",
    "stokly": "is discontinued",
    "prima": "is not active",
    "merret": "an item on the order is discontinued",
    "files": "an item on the order is discontinued",
}


@pytest.mark.parametrize("bad", ["zero quantity", "empty order id"])
async def test_an_order_the_erp_refuses_is_about_that_order_never_fatal(case: Case, bad: str) -> None:
    """Sent past trueup's own checks (as a record they did not predict would be), the ERP's refusal is
    Skippable for a synchronous ERP, and a refused file for a batch ERP: never a stop for every order."""
    base = sales_order("000000320")
    if bad == "zero quantity":
        zero = {"qty": Decimal(0), "net": Decimal(0), "tax": Decimal(0), "gross": Decimal(0)}
        line = base.lines[0].model_copy(update=zero)
        erp_order = base.model_copy(update={"lines": (line, base.lines[1])})
    else:
        erp_order = base.model_copy(update={"external_id": ""})
    try:
        ref = await case.erp.post_sales_order(erp_order)
    except Skippable as exc:
        assert exc.reason == Reason.ERP_REJECTED and str(exc)
        return
    except Fatal as exc:  # pragma: no cover - the failure this test exists for
        pytest.fail(f"{case.kind}: one order's refusal was fatal: {exc}")
    assert isinstance(case.erp, Acknowledgements), f"{case.kind} accepted {bad} ({ref})"
    ack = await case.erp.sales_order_ack(erp_order.external_id)
    assert ack.state == AckState.REFUSED and ack.text
    assert case.sandbox.sales_order_counts() == {}


async def test_looking_up_an_order_with_an_empty_id_is_never_fatal(case: Case) -> None:
    """Prima refuses an OrderEnquiry without a WebOrderRef: that is about the one order."""
    try:
        assert await case.erp.find_sales_order("") is None
    except Skippable as exc:
        assert exc.reason == Reason.ERP_REJECTED
    except Fatal as exc:  # pragma: no cover
        pytest.fail(f"{case.kind}: a look-up refused for one order was fatal: {exc}")
