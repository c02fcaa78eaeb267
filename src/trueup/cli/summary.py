"""One-pass results as people read them: `orders: 2 done, 1 parked`, not `{'done': 2, 'parked': 1}`."""

from __future__ import annotations

import dataclasses
from typing import Any


def _words(key: object) -> str:
    return str(key).replace("_", " ")


def readable(result: Any) -> str:
    """A count dict, a dataclass of counts, or nested ones, as one line: `2 done, 1 parked; sources: …`."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        result = dataclasses.asdict(result)
    if not isinstance(result, dict):
        return str(result)
    if not result:
        return "nothing to do"
    flat, nested = [], []
    for key, value in result.items():
        if isinstance(value, dict) or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            nested.append(f"{_words(key)}: {readable(value)}")
        elif isinstance(value, list | tuple):
            nested.append(f"{_words(key)}: {', '.join(str(v) for v in value) or 'none'}")
        elif isinstance(value, bool):
            flat.append(f"{_words(key)}: {'yes' if value else 'no'}")
        elif isinstance(value, int | float) or value is None:
            flat.append(f"{value if value is not None else '-'} {_words(key)}")
        else:
            flat.append(f"{_words(key)}: {value}")
    return "; ".join(([", ".join(flat)] if flat else []) + nested)
