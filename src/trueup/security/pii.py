"""Masking personal data: in order payloads (canonical or raw storefront JSON), in free text, in log lines.

Masking is by key, not by guess, wherever the structure is known (an order's customer and addresses), and
by pattern (e-mail addresses, phone numbers) in free text, where nothing else is possible. A masked value
keeps just enough to recognise it (`j***@e***.com`, `SW1A ***`, `***58`) and never enough to contact the
person.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MASK = "***"

# Bounded repeats (RFC 5321's 64-character local part, 63-character labels, a phone number's 30 characters):
# unbounded ones backtrack quadratically on a long hostile value (a 100,000-digit "street" hung a pass).
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}")
# A run of digits with the separators phone numbers are written with; `_phone_like` decides.
_PHONE = re.compile(r"(?<![\w.:/-])(?:\+|\(\+?)?\d[\d ().-]{7,30}\d(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w:])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}[./-]\d{2}[./-]\d{4}")
_UK_OUTWARD = re.compile(r"^([A-Z]{1,2}[0-9][0-9A-Z]?)\s*[0-9][A-Z]{2}$")


def mask_email(value: str) -> str:
    """`john.smith@example.co.uk` → `j***@e***.co.uk`: the first letter of each part, and the suffix."""
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return mask_name(value)
    label, dot, rest = domain.partition(".")
    return f"{local[:1]}{MASK}@{label[:1]}{MASK}{dot}{rest}"


def mask_phone(value: str) -> str:
    """Only the last two digits stay, enough to tell two numbers apart on a call."""
    digits = re.sub(r"\D", "", value)
    return f"{MASK}{digits[-2:]}" if len(digits) >= 6 else MASK if value else ""


def mask_name(value: str) -> str:
    """A name (or company) keeps its first letter: `Jane` → `J***`."""
    value = value.strip()
    return f"{value[:1]}{MASK}" if value else ""


def mask_street(value: str) -> str:
    """A street line keeps only its length, which is what an `address_too_long` exception is about."""
    return f"{MASK}[{len(value)}]" if value else ""


def mask_postcode(value: str, country: str = "") -> str:
    """A UK postcode keeps its outward code (`SW1A 1AA` → `SW1A ***`), a district, not a street; any other
    keeps its first two characters."""
    text = value.strip().upper()
    if not text:
        return ""
    outward = _UK_OUTWARD.match(text)
    if outward and country.upper() in ("", "GB", "UK"):
        return f"{outward.group(1)} {MASK}"
    return f"{text[:2]}{MASK}"


def _phone_like(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    # Dates, barcodes and timestamps are digit runs too: a run of 10 or more digits is masked when it is
    # written like a phone number (a +, a leading 0, separators, or 10-11 bare digits). Two numbers side
    # by side make one run: masked together, the safe way to be wrong.
    if len(digits) < 10 or _DATE.search(text):
        return text
    if text.isdigit() and not text.startswith("0") and len(text) > 11:
        return text  # barcodes (EAN-13, UPC-A) and millisecond timestamps; a bare 10-11 digit run may dial
    return mask_phone(text)


def mask_text(text: str) -> str:
    """E-mail addresses and phone numbers in free text, masked. Names and streets cannot be found in free
    text by pattern: texts trueup writes (exceptions, logs) never quote them (docs/security.md)."""
    if not text:
        return text
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE.sub(_phone_like, text)


# Keys whose values are personal data, in trueup's canonical order and in Magento's own order JSON.
_EMAIL_KEYS = frozenset({"email", "customer_email"})
_PHONE_KEYS = frozenset({"phone", "telephone", "fax", "mobile"})
_NAME_KEYS = frozenset(
    {
        "first_name",
        "last_name",
        "middle_name",
        "firstname",
        "lastname",
        "middlename",
        "customer_firstname",
        "customer_lastname",
        "customer_middlename",
        "customer_name",
        "company",
        "prefix",
        "suffix",
        "customer_prefix",
        "customer_suffix",
    }
)
_STREET_KEYS = frozenset({"street", "lines"})
_POSTCODE_KEYS = frozenset({"postcode", "zip", "postal_code"})
_OTHER_KEYS = frozenset({"remote_ip", "x_forwarded_for", "customer_dob", "customer_taxvat", "vat_id", "dob"})
# An address-like object: in one, `name` is a person's name (elsewhere it is a product's).
_ADDRESS_MARKERS = frozenset({"street", "postcode", "lines", "city"})


def _scrub(value: Any, how: Callable[[str, str, str], str], country: str = "") -> Any:
    """Walk JSON data; `how(kind, text, country)` replaces each personal string value."""
    if isinstance(value, list):
        return [_scrub(v, how, country) for v in value]
    if not isinstance(value, dict):
        return how("text", value, country) if isinstance(value, str) else value
    country = str(value.get("country") or value.get("country_id") or country)
    address_like = bool(_ADDRESS_MARKERS & value.keys())
    out: dict[str, Any] = {}
    for key, item in value.items():
        kind = (
            "email"
            if key in _EMAIL_KEYS
            else "phone"
            if key in _PHONE_KEYS
            else "name"
            if key in _NAME_KEYS or (key == "name" and address_like)
            else "street"
            if key in _STREET_KEYS and address_like
            else "postcode"
            if key in _POSTCODE_KEYS
            else "other"
            if key in _OTHER_KEYS
            else None
        )
        if kind is None:
            out[key] = _scrub(item, how, country)
        elif isinstance(item, str):
            out[key] = how(kind, item, country)
        elif isinstance(item, list):
            out[key] = [how(kind, v, country) if isinstance(v, str) else v for v in item]
        else:
            out[key] = item
    return out


def _masked(kind: str, text: str, country: str) -> str:
    if kind == "email":
        return mask_email(text) if text else ""
    if kind == "phone":
        return mask_phone(text)
    if kind == "name":
        return mask_name(text)
    if kind == "street":
        return mask_street(text)
    if kind == "postcode":
        return mask_postcode(text, country)
    if kind == "other":
        return MASK if text else ""
    return mask_text(text)


def mask_payload(data: Any) -> Any:
    """A copy of an order payload (parsed JSON) with every personal value masked; free text in it has its
    e-mail addresses and phone numbers masked. Anything else (ids, SKUs, amounts) is kept."""
    return _scrub(data, _masked)


ERASED = "[erased]"


def _erased(kind: str, text: str, country: str) -> str:
    if kind == "text":
        return mask_text(text)
    if kind == "email":
        return ""  # the canonical order allows an empty e-mail; "[erased]" would look like one to a parser
    if kind == "postcode":
        return mask_postcode(text, country).replace(MASK, "").strip() or ERASED
    return ERASED if text else ""


def erase_payload(data: Any) -> Any:
    """A copy of an order payload with the person removed for good (right to erasure): names, streets,
    phones and e-mails replaced, a UK postcode cut to its outward code. Order ids, SKUs and amounts stay,
    and the result still reads as the same kind of record."""
    return _scrub(data, _erased)


def mask_field(field: str, value: str, country: str = "") -> str:
    """A value named by its field path (`shipping_address.street`), masked if the field is personal: for
    exception texts, which quote the value that failed a check."""
    kind = _masked_kind(field.rpartition(".")[2])
    return _masked(kind, value, country) if kind else mask_text(value)


def _masked_kind(key: str) -> str | None:
    if key in _EMAIL_KEYS:
        return "email"
    if key in _PHONE_KEYS:
        return "phone"
    if key in _NAME_KEYS or key == "name":
        return "name"
    if key in _STREET_KEYS:
        return "street"
    if key in _POSTCODE_KEYS:
        return "postcode"
    return "other" if key in _OTHER_KEYS else None
