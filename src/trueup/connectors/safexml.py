"""XML from outside (Prima's answers, an ERP's XML files) is parsed with no DTD at all.

Neither Prima nor a files-profile ERP sends a DTD, and a DTD is how entity expansion ("billion laughs") and
external entities (XXE: `<!ENTITY e SYSTEM "file:///etc/passwd">`) get in. lxml's `resolve_entities=False`
stops external entities but still expands internal ones up to libxml2's amplification limit, so a DTD is
refused before parsing, and checked again after it (a UTF-16 document hides `<!DOCTYPE` from a byte scan).
"""

from __future__ import annotations

from lxml import etree


class UnsafeXml(ValueError):
    """A document that declares a DTD or entities: refused, never expanded."""


def untrusted_parser(*, remove_blank_text: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=remove_blank_text,
    )


def parse_untrusted(data: bytes, parser: etree.XMLParser) -> etree._Element:
    """The document's root; raises UnsafeXml for a DTD, etree.XMLSyntaxError for XML that is not."""
    if b"<!DOCTYPE" in data:
        raise UnsafeXml(_REFUSED)
    root = etree.fromstring(data, parser)
    if root.getroottree().docinfo.internalDTD is not None:
        raise UnsafeXml(_REFUSED)
    return root


_REFUSED = "the document declares a DTD (<!DOCTYPE>); DTDs and entities are never accepted from outside"
