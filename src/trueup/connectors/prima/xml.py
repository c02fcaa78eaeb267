"""Prima's XML envelopes on the wire: ISO-8859-1 text, request building and response parsing (lxml).

Prima's web service speaks ISO-8859-1. A character that encoding cannot hold is never sent as mojibake or as
a silent `?`: punctuation and letters with a faithful Latin-1 form are transliterated (’ → ', “ → ",
– → -, Ł → L, ś → s), and anything else (emoji, CJK, Cyrillic) makes `latin1_text` raise a Skippable that
names the field and the offending characters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from lxml import etree

from trueup.connectors.safexml import UnsafeXml, parse_untrusted, untrusted_parser
from trueup.errors import Skippable
from trueup.model.exceptions import Reason
from trueup.model.money import round_money

ENCODING = "ISO-8859-1"
DECLARATION = b'<?xml version="1.0" encoding="ISO-8859-1"?>'

# Characters common in storefront text whose Latin-1 form is a convention rather than a decomposition
# (NFKD leaves typographic quotes, dashes and Ł alone).
_FAITHFUL: Mapping[str, str] = {
    "‘": "'",
    "’": "'",
    "‚": "'",
    "‛": "'",
    "′": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "″": '"',
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "–": "-",
    "—": "-",
    "―": "-",
    "−": "-",
    "…": "...",
    "•": "-",
    "€": "EUR",
    "™": "TM",
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "Ħ": "H",
    "ħ": "h",
    "Ŧ": "T",
    "ŧ": "t",
    "ı": "i",
    "Œ": "OE",
    "œ": "oe",
    "\u00a0": " ",
    "\u2007": " ",
    "\u202f": " ",
    "\u200b": "",
    "\u200d": "",
    "\ufeff": "",
}


def _is_latin1(text: str) -> bool:
    return all(ord(ch) < 0x100 for ch in text)


def _one(ch: str) -> str | None:
    """The Latin-1 form of one character, or None when it has no faithful one."""
    if ch in _FAITHFUL:
        return _FAITHFUL[ch]
    if ch in "\t\n\r":
        return " "
    if ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0:
        return ""  # control characters carry no text, and XML 1.0 cannot hold most of them
    if ord(ch) < 0x100:
        return ch
    decomposed = unicodedata.normalize("NFKD", ch)
    recomposed = unicodedata.normalize("NFC", decomposed)
    if _is_latin1(recomposed):
        return recomposed  # e.g. fullwidth letters, the "ﬁ" ligature
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    if bare and _is_latin1(bare):
        return unicodedata.normalize("NFC", bare)  # ś → s, ő → o, ř → r
    return None


def transliterate(text: str) -> tuple[str, str]:
    """(the Latin-1 text, the characters that have no faithful Latin-1 form, in order, deduplicated)."""
    out: list[str] = []
    bad: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        latin = _one(ch)
        if latin is None:
            if ch not in bad:
                bad.append(ch)
        else:
            out.append(latin)
    return "".join(out), "".join(bad)


def describe_chars(chars: str) -> str:
    return ", ".join(f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')})" for ch in chars)


def latin1_text(value: str, field: str, *, record: str, reason: Reason = Reason.UNREPRESENTABLE_TEXT) -> str:
    """`value` as Prima can hold it, or Skippable naming the record, the field and the characters."""
    text, bad = transliterate(value)
    if bad:
        raise Skippable(
            reason,
            f"{record}: {field} {value!r} has characters Prima's ISO-8859-1 web service cannot hold: "
            f"{describe_chars(bad)}; they have no faithful Latin-1 form, and sending them would garble "
            "the record",
            field=field,
            value=value,
        )
    return text


def optional_text(value: str) -> str:
    """Free text trueup may leave out (a line description, a refund reason): transliterated, or empty
    when it holds anything Latin-1 cannot show. Prima keeps its own item descriptions."""
    text, bad = transliterate(value)
    return "" if bad else text


def money(value: Decimal) -> str:
    return f"{round_money(value):f}"


def number(value: Decimal) -> str:
    """A quantity or rate as plain decimal text (no exponent, no trailing zeros)."""
    return f"{value.normalize():f}"


def build_request(request_type: str, company_id: str = "") -> tuple[etree._Element, etree._Element]:
    """A `<Request RequestType=…><Data/></Request>` envelope; the Company ID, when set, rides on the Request
    element (assumed: the handler's Company ID parameter)."""
    root = etree.Element("Request", RequestType=request_type)
    if company_id:
        root.set("CompanyID", company_id)
    data = etree.SubElement(root, "Data")
    return root, data


def set_attrs(element: etree._Element, attrs: Mapping[str, str]) -> None:
    for key, value in attrs.items():
        element.set(key, value)


def serialise(root: etree._Element) -> bytes:
    """ISO-8859-1 bytes with the declaration Prima's examples use (double quotes)."""
    body = etree.tostring(root, encoding=ENCODING, xml_declaration=False)
    assert isinstance(body, bytes)  # an encoding other than "unicode" always gives bytes
    return DECLARATION + body


_PARSER = untrusted_parser(remove_blank_text=True)


class MalformedResponse(ValueError):
    """The handler answered with something that is not a Prima response envelope."""


def parse_response(raw: bytes, request_type: str) -> etree._Element:
    """The `<Response>` root; raises MalformedResponse for anything else (an HTML proxy page, say)."""
    try:
        root = parse_untrusted(raw, _PARSER)
    except UnsafeXml as exc:
        raise MalformedResponse(f"refused: {exc}") from None
    except etree.XMLSyntaxError as exc:
        raise MalformedResponse(f"not XML ({exc}): {raw[:200]!r}") from None
    if root.tag != "Response":
        raise MalformedResponse(f"root element is <{root.tag}>, not <Response>: {raw[:200]!r}")
    answered = root.get("RequestType")
    if answered and answered != request_type:
        raise MalformedResponse(f"answer is for RequestType {answered!r}, not {request_type!r}")
    return root


def attr(element: etree._Element, name: str, default: str | None = None) -> str:
    value = element.get(name)
    if value is None:
        if default is None:
            raise MalformedResponse(f"<{element.tag}> has no {name} attribute")
        return default
    return value


def attr_decimal(element: etree._Element, name: str, default: str | None = None) -> Decimal:
    raw = attr(element, name, default)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise MalformedResponse(f"<{element.tag} {name}={raw!r}> is not a decimal") from None
    if not value.is_finite():
        raise MalformedResponse(f"<{element.tag} {name}={raw!r}> is not a decimal")
    return value


def attr_int(element: etree._Element, name: str, default: str | None = None) -> int:
    value = attr_decimal(element, name, default)
    if value != value.to_integral_value():
        raise MalformedResponse(f"<{element.tag} {name}={value}> is not a whole number")
    return int(value)
