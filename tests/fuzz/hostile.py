"""Hostile values for the fuzz tests: what a broken, hacked or merely odd system might send."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

HUGE = "x" * 1_000_000  # a 1 MB string: a field must be refused or trimmed, never choke a worker

# Text a person never types but a system may pass on: NUL and controls, bidi overrides (Trojan Source),
# astral characters, combining marks piled on one letter, a byte-order mark, right-to-left script.
UNICODE_EDGES = [
    "\x00",
    "a\x00b",
    "\u202eevil\u202c",
    "\u2066x\u2069",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀🏴\u200d☠️",
    "e" + "\u0301" * 500,
    "\ufeffSKU",
    "مرحبا",
    "\r\n\t",
    "",
    " ",
]

NUMBER_EDGES: list[Any] = [
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    Decimal("1E+999999"),
    Decimal("-1E+999999"),
    Decimal("1E-999999"),
    Decimal("-0.01"),
    Decimal("-5"),
    Decimal("0"),
    Decimal("0.5"),
    Decimal("123456789012345678901234567890.123456789"),
    "NaN",
    "-1",
    "1e999999",
    "20%",
    10**20,
    -(10**20),
    10**5000,  # more digits than Python will turn into a string by default
    1.5,
    float("nan"),
    float("inf"),
    True,
]


def hostile_values() -> st.SearchStrategy[Any]:
    """Any JSON-ish value of the wrong kind, or the right kind at its worst."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.text(max_size=50),
        st.sampled_from(UNICODE_EDGES),
        st.sampled_from(NUMBER_EDGES),
        st.just(HUGE),
    )
    return st.one_of(
        scalars,
        st.lists(scalars, max_size=3),
        st.dictionaries(st.text(max_size=5), scalars, max_size=3),
    )


DELETE = object()  # a mutation that removes the field instead of replacing it


def mutate(record: Any, path: tuple[Any, ...], value: Any) -> None:
    """Replace (or, for DELETE, remove) the value at `path` in a nested dict/list, if the path exists."""
    *parents, last = path
    node = record
    for step in parents:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(node, dict):
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        if value is DELETE:
            del node[last]
        else:
            node[last] = value


def paths(record: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to every value in a nested dict/list (the places a mutation can land)."""
    found: list[tuple[Any, ...]] = []
    children: list[tuple[Any, Any]] = []
    if isinstance(record, dict):
        children = list(record.items())
    elif isinstance(record, list):
        children = list(enumerate(record))
    for key, child in children:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found
