"""The emulators' JSON: Decimal as a number literal, and what the fast encoder refuses still answered as
before."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from trueup.sandbox.wire import dumps


def test_amounts_are_number_literals_with_their_own_digits() -> None:
    body = dumps({"grand_total": Decimal("12.30"), "qty": Decimal("2.0000"), "items": (1, None, True)})
    assert body == b'{"grand_total":12.30,"qty":2.0000,"items":[1,null,true]}'
    assert json.loads(body, parse_float=Decimal) == {
        "grand_total": Decimal("12.30"), "qty": Decimal("2.0000"), "items": [1, None, True]
    }  # fmt: skip


def test_a_lone_surrogate_is_written_escaped_as_before() -> None:
    assert json.loads(dumps({"name": "a\ud800b"})) == {"name": "a\ud800b"}


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity")])
def test_a_value_json_cannot_hold_is_refused(value: Decimal) -> None:
    with pytest.raises(ValueError):
        dumps({"grand_total": value})
