"""Fitting a storefront address into an ERP's fixed-width address fields.

Storefronts allow long, free-form street lines; many ERPs and their warehouse systems allow three lines of
35 characters. Truncating silently sends a parcel to the wrong door, so an address that cannot be fitted
losslessly is an exception, never a cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trueup.model.items import FieldLimits
from trueup.model.orders import Address, ErpAddress

# Format check only (outward + inward code); it cannot tell whether the postcode exists.
_UK_POSTCODE = re.compile(r"^(GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?[0-9][0-9A-Z]? ?[0-9][ABD-HJLNP-UW-Z]{2})$")
_ISO_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True, slots=True)
class AddressProblem:
    kind: str  # "too_long" | "invalid" | "postcode"
    field: str
    value: str
    message: str


def normalise_uk_postcode(postcode: str) -> str:
    compact = re.sub(r"\s+", "", postcode.upper())
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


def fit_street(
    street: tuple[str, ...], width: int, max_lines: int, *, rejoin: bool = False
) -> list[str] | None:
    """The street as at most `max_lines` lines of at most `width` characters, or None if impossible.

    Blank lines are dropped and runs of whitespace become one space. Lines that then fit are kept as they
    are (a customer's "Flat 2" stays on its own line), unless `rejoin`; otherwise all lines are joined with
    ", " and re-wrapped on word boundaries, filling each line. A single word longer than `width` cannot be
    wrapped without breaking it, so it never fits.
    """
    lines = [" ".join(s.split()) for s in street if s and s.strip()]
    if not rejoin and len(lines) <= max_lines and all(len(line) <= width for line in lines):
        return lines
    words = ", ".join(lines).split(" ")
    wrapped: list[str] = []
    current = ""
    for word in words:
        if len(word) > width:
            return None
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
        else:
            wrapped.append(current)
            current = word
    if current:
        wrapped.append(current)
    return wrapped if len(wrapped) <= max_lines else None


def fit_address(
    address: Address, limits: FieldLimits, where: str
) -> tuple[ErpAddress | None, list[AddressProblem]]:
    """Map an address onto the ERP's fields, or say exactly which field does not fit."""
    problems: list[AddressProblem] = []
    country = address.country.strip().upper()
    if not _ISO_COUNTRY.match(country):
        problems.append(
            AddressProblem("invalid", f"{where}.country", address.country, "country is not an ISO 3166 code")
        )
    for name, value in (("street", " ".join(address.street).strip()), ("city", address.city.strip())):
        if not value:
            problems.append(AddressProblem("invalid", f"{where}.{name}", value, f"{name} is empty"))
    postcode = address.postcode.strip()
    if country == "GB":
        postcode = normalise_uk_postcode(postcode)
        if not _UK_POSTCODE.match(postcode):
            problems.append(
                AddressProblem("postcode", f"{where}.postcode", address.postcode, "not a valid UK postcode")
            )
    lines = fit_street(
        address.street, limits.address_line, limits.address_lines, rejoin=limits.street_lines == "rejoin"
    )
    if lines is None:
        joined = ", ".join(address.street)
        problems.append(
            AddressProblem(
                "too_long",
                f"{where}.street",
                joined,
                f"{len(joined)} characters cannot be split into {limits.address_lines} lines of "
                f"{limits.address_line} characters",
            )
        )
    for name, value, limit in (
        ("name", address.name, limits.name),
        ("company", address.company, limits.name),
        ("city", address.city.strip(), limits.city),
        ("postcode", postcode, limits.postcode),
        ("phone", address.phone, limits.phone),
        ("email", address.email, limits.email),
    ):
        if len(value) > limit:
            problems.append(
                AddressProblem(
                    "too_long", f"{where}.{name}", value, f"{len(value)} characters, limit {limit}"
                )
            )
    if problems or lines is None:
        return None, problems
    return (
        ErpAddress(
            name=address.name,
            company=address.company,
            lines=tuple(lines),
            city=address.city.strip(),
            region=address.region,
            postcode=postcode,
            country=country,
            phone=address.phone,
            email=address.email,
        ),
        [],
    )
