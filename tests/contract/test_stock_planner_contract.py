"""Every ERP connector's stock feeds the same planner (R-STK-1): Prima's Available to Sell, Merret's and the
files ERP's stock files, Stokly's inventory records and the REST ERP's stock all give the same sellable
figures through the connector's declared formula."""

from __future__ import annotations

from tests.contract.conftest import Case
from trueup.flows.stock_plan import levels_frame, plan_changes, position_frame, sellable_frame
from trueup.model.stock import DEFAULT_FORMULA, SellableFormula, StockRules


async def test_each_erps_stock_plans_to_the_same_sellable_figures(case: Case) -> None:
    case.sandbox.set_stock("TU0001-M-Navy", "WEB", on_hand=10, allocated=3, quarantined=2)
    case.sandbox.set_stock("TU0001-L-Navy", "WEB", on_hand=1, allocated=4)
    case.sandbox.set_stock("TU0002", "WEB", on_hand=4)
    levels = [lv for snap in [s async for s in case.erp.stock()] for lv in snap.levels]
    formula: SellableFormula = getattr(case.erp, "sellable_formula", DEFAULT_FORMULA)
    # Stokly names locations by id, not "WEB": with no map every location adds up into `default`.
    rules = StockRules(formula=formula, sku_buffers={"TU0002": 1})
    sellable = sellable_frame(levels_frame(levels), rules)
    figures = {s: q for s, _, q in sellable.iter_rows()}
    assert {k: figures[k] for k in ("TU0001-M-Navy", "TU0001-L-Navy", "TU0002")} == {
        "TU0001-M-Navy": 5,
        "TU0001-L-Navy": 0,
        "TU0002": 3,
    }
    before = position_frame([("TU0001-M-Navy", "default", 5), ("TU0002", "default", 9)])
    changed = {s for s, _, _ in plan_changes(sellable, before).iter_rows()}
    assert "TU0001-M-Navy" not in changed and {"TU0001-L-Navy", "TU0002"} <= changed
