"""The catalogue planner, pure: only products whose technical attributes changed are sent, and a duplicate
SKU, a renamed SKU and a dynamic bundle SKU are each raised with their reason (R-CAT-3)."""

from __future__ import annotations

from decimal import Decimal

from trueup.flows.item_plan import bundle_parts, item_row, plan_items
from trueup.model.catalog import Pushed
from trueup.model.exceptions import Reason
from trueup.model.items import ErpItem


def item(sku: str, item_id: str = "", **kw: object) -> ErpItem:
    return ErpItem(sku=sku, erp_item_id=item_id or f"I-{sku}", **kw)  # type: ignore[arg-type]


def pushed_for(*items: ErpItem) -> dict[str, Pushed]:
    return {i.sku: Pushed(item_row(i, "ean").digest(), i.erp_item_id, i.barcode or "") for i in items}


def test_only_changed_products_are_planned_and_full_plans_all() -> None:
    master = [item("A", name="Alpha"), item("B", name="Beta", weight=Decimal("1.50")), item("C")]
    pushed = pushed_for(*master)
    assert plan_items(master, pushed).changes == []
    master[1] = item("B", name="Beta", weight=Decimal("1.5"))  # the same weight, spelt otherwise
    assert plan_items(master, pushed).changes == []
    master[0] = item("A", name="Alpha II")
    master.append(item("D", barcode="5012345678900", active=False))
    plan = plan_items(master, pushed)
    assert [(r.sku, r.name, r.enabled) for r in plan.changes] == [("A", "Alpha II", True), ("D", "D", False)]
    assert plan.changes[1].attributes == (("ean", "5012345678900"),)
    assert len(plan_items(master, pushed, full=True).changes) == 4
    assert plan.findings == []


def test_a_row_holds_only_technical_attributes() -> None:
    row = item_row(item("A", name="Alpha", barcode="5012345678900", weight=Decimal("0.250"),
                        attributes=(("size", "M"), ("color", "Red"))), "ean")  # fmt: skip
    assert row.weight == "0.25"
    assert row.attributes == (("color", "Red"), ("ean", "5012345678900"), ("size", "M"))


def test_a_duplicate_sku_is_raised_and_not_sent() -> None:
    plan = plan_items([item("A", "1"), item("A", "2"), item("B")], {})
    assert [r.sku for r in plan.changes] == ["B"]
    [finding] = plan.findings
    assert finding.reason == Reason.DUPLICATE_SKU and finding.sku == "A"
    assert "1, 2" in finding.message and "Resolution:" in finding.message


def test_a_renamed_sku_is_raised_by_item_id_or_barcode_and_the_new_sku_is_sent() -> None:
    old = [item("OLD-1", "ID1"), item("OLD-2", "ID2", barcode="5012345678900")]
    pushed = pushed_for(*old)
    master = [item("NEW-1", "ID1"), item("NEW-2", "ID9", barcode="5012345678900")]
    plan = plan_items(master, pushed)
    assert [r.sku for r in plan.changes] == ["NEW-1", "NEW-2"]
    assert sorted((f.reason, f.key) for f in plan.findings) == [
        (Reason.SKU_RENAMED, "item:OLD-1->NEW-1"),
        (Reason.SKU_RENAMED, "item:OLD-2->NEW-2"),
    ]
    # Once the new SKU is pushed, it is not raised again.
    assert plan_items(master, {**pushed, **pushed_for(*master)}).findings == []


def test_a_dynamic_bundle_sku_is_raised_and_not_sent() -> None:
    master = [item("SOFA"), item("LEG-OAK"), item("CUSHION"), item("SOFA-LEG-OAK-CUSHION"), item("TEE-RED")]
    plan = plan_items(master, {})
    assert "SOFA-LEG-OAK-CUSHION" not in {r.sku for r in plan.changes}
    assert "TEE-RED" in {r.sku for r in plan.changes}  # its parts are not SKUs: an ordinary SKU
    [finding] = plan.findings
    assert finding.reason == Reason.DYNAMIC_BUNDLE_SKU and "SOFA, LEG-OAK, CUSHION" in finding.message


def test_bundle_parts() -> None:
    skus = {"A", "B-1", "C"}
    assert bundle_parts("A-B-1-C", skus) == ["A", "B-1", "C"]
    assert bundle_parts("A-X", skus) is None
    assert bundle_parts("B-1", skus) is None
