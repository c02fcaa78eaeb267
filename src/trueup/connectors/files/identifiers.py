"""Item identifiers a file ERP sends: Merret's 14-digit internal PID and GS1 barcodes (EAN-13, GTIN-14).

Each check returns the reason a value is wrong (empty when it is right), so that a rejected item row can
say exactly what is wrong with it.
"""

from __future__ import annotations

PID_LENGTH = 14
BARCODE_LENGTHS = (13, 14)  # EAN-13 and GTIN-14; a UPC-A is sent as an EAN-13 with a leading 0


def gs1_check_digit(body: str) -> int:
    """The GS1 check digit for the digits before it: weights 3,1,3,… from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def pid_problem(value: str) -> str:
    """Why `value` is not a Merret PID (exactly 14 digits), or '' when it is one."""
    if len(value) != PID_LENGTH or not value.isascii() or not value.isdigit():
        return f"PID {value!r} is not exactly {PID_LENGTH} digits"
    return ""


def barcode_problem(value: str) -> str:
    """Why `value` is not a valid EAN-13 or GTIN-14, or '' when it is one."""
    if not value.isascii() or not value.isdigit() or len(value) not in BARCODE_LENGTHS:
        return f"barcode {value!r} is not an EAN-13 or GTIN-14 (13 or 14 digits)"
    expected = gs1_check_digit(value[:-1])
    if int(value[-1]) != expected:
        return f"barcode {value!r} has check digit {value[-1]}; GS1 gives {expected}"
    return ""


def is_pid(value: str) -> bool:
    return not pid_problem(value)
