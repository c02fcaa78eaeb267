"""Reading and writing the fields of one file row: typed values, with errors that name the row."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from trueup.connectors.files.profile import Row
from trueup.errors import Rejected
from trueup.model.items import FieldLimits
from trueup.model.money import round_money
from trueup.model.orders import ErpAddress

_STAMP = re.compile(r"_(\d{8}T\d{6})")
_DAY = re.compile(r"_(\d{8})")


class RowError(ValueError):
    def __init__(self, row: Row, message: str) -> None:
        super().__init__(f"row {row.number}: {message}")


def text(row: Row, name: str, *, required: bool = True) -> str:
    value = row.get(name)
    if required and not value:
        raise RowError(row, f"{name} is empty")
    return value


def integer(row: Row, name: str, *, required: bool = True) -> int:
    value = row.get(name)
    if not value and not required:
        return 0
    try:
        return int(value)
    except ValueError:
        raise RowError(row, f"{name} {value!r} is not a whole number") from None


def decimal(row: Row, name: str) -> Decimal:
    value = row.get(name)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise RowError(row, f"{name} {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise RowError(row, f"{name} {value!r} is not a decimal number")
    return number


def moment(row: Row, name: str) -> datetime:
    value = row.get(name)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RowError(row, f"{name} {value!r} is not an ISO 8601 date-time") from None
    return moment.replace(tzinfo=None) if moment.tzinfo is None else moment.astimezone().replace(tzinfo=None)


def money(value: Decimal) -> str:
    return str(round_money(value))


def snapshot_time(name: str) -> datetime | None:
    """The time in an inbound file's name (`STOCK_20240501T060000.csv`): when the ERP took the batch."""
    found = _STAMP.search(name)
    return datetime.strptime(found.group(1), "%Y%m%dT%H%M%S") if found else None


def ledger_day(name: str) -> date | None:
    found = _DAY.search(name)
    try:
        return datetime.strptime(found.group(1), "%Y%m%d").date() if found else None
    except ValueError:
        return None


def address_fields(prefix: str, address: ErpAddress) -> dict[str, str]:
    if len(address.lines) > 3:
        raise Rejected(
            f"{prefix}-to address has {len(address.lines)} street lines; the file has room for 3",
            field=f"{prefix}_to.lines",
        )
    lines = [*address.lines, "", "", ""]
    return {
        f"{prefix}_name": address.name,
        f"{prefix}_company": address.company,
        f"{prefix}_address_1": lines[0],
        f"{prefix}_address_2": lines[1],
        f"{prefix}_address_3": lines[2],
        f"{prefix}_city": address.city,
        f"{prefix}_region": address.region,
        f"{prefix}_postcode": address.postcode,
        f"{prefix}_country": address.country,
        f"{prefix}_phone": address.phone,
        f"{prefix}_email": address.email,
    }


def limits_dict(limits: FieldLimits) -> dict[str, int]:
    return {
        "address_line": limits.address_line,
        "address_lines": limits.address_lines,
        "name": limits.name,
        "city": limits.city,
        "postcode": limits.postcode,
        "phone": limits.phone,
        "email": limits.email,
        "order_id": limits.order_id,
        "sku": limits.sku,
        "description": limits.description,
    }
