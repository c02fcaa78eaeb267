"""What an ERP sends back is read by plain functions (`to_item(raw)`); `shaped` turns the Python errors a
hostile or changed record raises there (a missing key, a list where a number belongs, NaN) into one clear
trueup error, so that no bare KeyError or TypeError escapes a worker (docs/security.md, fuzzing)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from trueup.errors import Fatal, TrueupError

P = ParamSpec("P")
R = TypeVar("R")

# What reading a dict or a string of the wrong shape raises (pydantic's ValidationError is a ValueError).
SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError)


class MalformedRecord(Fatal):
    """An ERP answer that does not have the shape its connector reads. Fatal, as Prima's connector does:
    the same answer comes back on every retry until the ERP (or its API version) is fixed."""


def shaped(system: str, what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def wrap(read: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(read)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return read(*args, **kwargs)
            except TrueupError:
                raise
            except SHAPE_ERRORS as exc:
                # Only the error's own text, cut short: never the record (a row may be megabytes long).
                raise MalformedRecord(
                    f"{system} {what} does not have the expected shape ({type(exc).__name__}: "
                    f"{_short(exc)}). Resolution: check that the ERP's API version is the one "
                    f"docs/connectors/ describes, and report the record to whoever runs the ERP"
                ) from None

        return checked

    return wrap


def _short(exc: BaseException) -> str:
    try:
        text = str(exc)
    except ValueError:  # an int too long to print
        return "a value too long to show"
    return text if len(text) <= 200 else f"{text[:200]}..."
