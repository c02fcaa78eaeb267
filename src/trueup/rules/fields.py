"""What every ERP refuses, checked before sending: quantities it cannot book, identifiers that are empty or
do not fit, and descriptive text longer than its field (trimmed, with a note, as nothing keys on it).

Pure functions over values; the order plan turns what they find into exceptions.
"""

from __future__ import annotations

from decimal import Decimal

# Appended to trimmed text: plain ASCII, as some ERPs (Prima) take only ISO-8859-1.
TRIM_MARK = "..."


def quantity_problem(qty: Decimal, *, decimal_ok: bool = False) -> str | None:
    """Why an ERP cannot book this quantity, or None. Lines are whole units unless the storefront says
    the item is sold in fractions (`decimal_ok`)."""
    if not qty.is_finite() or qty <= 0:
        return f"quantity {qty} is not a positive number"
    if not decimal_ok and qty != qty.to_integral_value():
        return f"quantity {qty} is a fraction on a whole-unit line"
    return None


def identifier_problem(value: str, limit: int) -> str | None:
    """Why an identifier cannot be sent as it is, or None. Never trimmed: a cut key names another record."""
    if not value.strip():
        return "is empty"
    if len(value) > limit:
        return f"is {len(value)} characters long; the ERP's field holds {limit}"
    return None


def trim_text(value: str, limit: int) -> tuple[str, str | None]:
    """Descriptive text cut to `limit` characters (ending in "..."), and a note when it was cut."""
    if len(value) <= limit:
        return value, None
    keep = max(0, limit - len(TRIM_MARK))
    return value[:keep] + TRIM_MARK, f"trimmed from {len(value)} to {limit} characters"
