"""The `fields` filter trueup sends asks for everything the mapping reads, and nothing it does not."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest
import simplejson

from trueup.connectors.magento.client import ORDER_FIELDS
from trueup.connectors.magento.mapping import to_order
from trueup.sandbox.magento_fields import FieldsError, parse_fields, project
from trueup.sandbox.scenario import generate


def test_the_filter_parses_nested_brackets() -> None:
    assert parse_fields("items[a,b[c,d[e]],f],total_count") == {
        "items": {"a": None, "b": {"c": None, "d": {"e": None}}, "f": None},
        "total_count": None,
    }
    with pytest.raises(FieldsError):
        parse_fields("items[a,b")


def test_a_trimmed_order_maps_exactly_like_the_full_one() -> None:
    tree = parse_fields(ORDER_FIELDS)["items"]
    scenario = generate(3, 200, start=datetime(2026, 11, 1), end=datetime(2026, 11, 2))
    for raw in scenario.orders:
        if "billing_address" not in raw:
            continue  # the deliberately malformed ones
        # Round-trip through JSON as the wire does, so both sides see the same types.
        full = json.loads(simplejson.dumps(raw, use_decimal=True), parse_float=Decimal)
        trimmed = project(full, tree)
        assert to_order(trimmed, "magento") == to_order(full, "magento")
        assert (
            len(simplejson.dumps(trimmed, use_decimal=True))
            < len(simplejson.dumps(full, use_decimal=True)) / 2
        )


def test_the_filter_leaves_out_what_trueup_does_not_read() -> None:
    tree = parse_fields(ORDER_FIELDS)["items"]
    assert tree is not None
    assert "base_grand_total" not in tree and "protect_code" not in tree
