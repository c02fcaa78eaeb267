"""Planning a despatch is pure: which order lines ship, which existing shipment is linked, which carrier."""

from __future__ import annotations

from datetime import datetime

from trueup.flows.fulfilment import (
    FulfilmentRules,
    Link,
    Ship,
    Unmatched,
    carrier_track,
    marker,
    plan_shipment,
)
from trueup.model.erp import Despatch, DespatchLine
from trueup.model.shipments import ShipLine, Shipment, ShipmentItem, ShippableOrder, Track

RULES = FulfilmentRules(
    carriers={"flatrate_flatrate": ("RM", "TRACKED48"), "ups_GND": ("UPS", "GROUND")},
    sku_overrides={"TEE-M": "ERP-TEE-M"},
)
KEY = "erp:DN-1"
TRACKS = (Track(number="TRK1", carrier_code="custom", title="RM TRACKED48"),)


def despatch(*lines: tuple[str, int], carrier: str = "RM") -> Despatch:
    return Despatch(
        despatch_id="DN-1",
        order_id="000000001",
        despatched_at=datetime(2026, 11, 29, 9, 30),
        carrier=carrier,
        service="TRACKED48",
        tracking_numbers=("TRK1",),
        lines=tuple(DespatchLine(sku=s, qty=q) for s, q in lines),
    )


def order(*shipments: Shipment, shipped: int = 0) -> ShippableOrder:
    # line 10: a configurable's parent line, named by its child's SKU; 21, 22: a bundle's children
    return ShippableOrder(
        order_id="000000001",
        entity_id="7",
        state="processing",
        status="processing",
        lines=(
            ShipLine(line_id="10", sku="TEE-M", qty_ordered=2, qty_shipped=shipped),
            ShipLine(line_id="21", sku="MUG", qty_ordered=1),
            ShipLine(line_id="22", sku="CUP", qty_ordered=3),
        ),
        shipments=shipments,
    )


def test_a_despatch_ships_the_lines_by_storefront_item_id_with_the_erp_sku_read_back() -> None:
    plan = plan_shipment(KEY, despatch(("ERP-TEE-M", 2), ("CUP", 1)), order(), {}, TRACKS, RULES)
    assert isinstance(plan, Ship)
    assert {(i.line_id, i.qty) for i in plan.request.items} == {("10", 2), ("22", 1)}
    assert plan.request.tracks == TRACKS and plan.request.entity_id == "7"
    # the true despatch time and the despatch key go into the shipment's comment
    assert "2026-11-29T09:30:00" in plan.request.comment and marker(KEY) in plan.request.comment


def test_a_shipment_made_by_hand_that_covers_the_despatch_is_linked_and_gets_the_missing_tracking() -> None:
    by_hand = Shipment(shipment_id="5", items=(ShipmentItem(line_id="10", qty=2),))
    plan = plan_shipment(KEY, despatch(("ERP-TEE-M", 2)), order(by_hand, shipped=2), {}, TRACKS, RULES)
    assert plan == Link("5", TRACKS, manual=True)


def test_a_shipment_linked_to_another_despatch_is_not_linked_again() -> None:
    first = Shipment(shipment_id="5", items=(ShipmentItem(line_id="10", qty=1),))
    plan = plan_shipment(
        KEY, despatch(("ERP-TEE-M", 1)), order(first, shipped=1), {"5": "erp:DN-0"}, TRACKS, RULES
    )
    assert isinstance(plan, Ship) and [(i.line_id, i.qty) for i in plan.request.items] == [("10", 1)]


def test_trueups_own_shipment_from_an_attempt_cut_short_is_known_by_its_comment() -> None:
    ours = Shipment(
        shipment_id="9", items=(ShipmentItem(line_id="10", qty=2),), tracks=TRACKS, comments=(marker(KEY),)
    )
    plan = plan_shipment(KEY, despatch(("ERP-TEE-M", 2)), order(ours, shipped=2), {}, TRACKS, RULES)
    assert plan == Link("9", (), manual=False)


def test_more_than_is_left_to_ship_and_no_shipment_covering_it_is_unmatched() -> None:
    plan = plan_shipment(KEY, despatch(("MUG", 2)), order(), {}, TRACKS, RULES)
    assert isinstance(plan, Unmatched) and "'MUG'" in plan.message
    assert isinstance(plan_shipment(KEY, despatch(("NOPE", 1)), order(), {}, TRACKS, RULES), Unmatched)


def test_carriers_are_mapped_in_reverse_and_an_unknown_one_is_none() -> None:
    assert carrier_track("RM", "TRACKED48", RULES) == ("custom", "RM TRACKED48")
    assert carrier_track("UPS", "GROUND", RULES) == ("ups", "UPS GROUND")
    assert carrier_track("RM", "OTHER", RULES) == ("custom", "RM OTHER")  # the carrier alone suffices
    assert carrier_track("YODEL", "48HR", RULES) is None


def test_a_despatch_without_lines_never_links_a_shipment() -> None:
    by_hand = Shipment(shipment_id="5", items=(ShipmentItem(line_id="10", qty=2),))
    assert isinstance(plan_shipment(KEY, despatch(), order(by_hand, shipped=2), {}, TRACKS, RULES), Unmatched)
