"""XML from an ERP may carry a DTD: entity expansion (billion laughs) and external entities (XXE) must be
refused or left unresolved by Prima's response parser and the XML files profile, never read a local file
or balloon in memory."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from trueup.connectors.files.profile import FILES_PROFILE, Format, MalformedFile, RecordKind
from trueup.connectors.prima.xml import MalformedResponse, parse_response

XML_FILES = FILES_PROFILE.with_overrides(format=Format.XML)

LAUGHS = "\n".join(
    f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
)  # 10^9 "lol"s once expanded


def billion_laughs(body: str) -> bytes:
    return f'<?xml version="1.0"?>\n<!DOCTYPE x [\n<!ENTITY lol0 "lol">\n{LAUGHS}\n]>\n{body}'.encode()


def xxe(body: str, target: Path) -> bytes:
    return f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file://{target}">]>\n{body}'.encode()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """Stands in for /etc/passwd: a file the parser must never read into a value."""
    path = tmp_path / "passwd"
    path.write_text("root:x:0:0:SECRET-CONTENT:/root:/bin/sh\n", encoding="utf-8")
    return path


def _all_text(root: etree._Element) -> str:
    return etree.tostring(root, encoding="unicode") + " ".join(
        v for e in root.iter() if isinstance(e.tag, str) for v in e.attrib.values()
    )


PRIMA_BODY = '<Response RequestType="Items" Status="OK"><Item SKU="&{e};" ItemCode="IT-1"/></Response>'
FILES_BODY = (
    "<Items><Item><item_id>IT-1</item_id><sku>&{e};</sku><barcode/><name>Mug</name>"
    "<active>1</active></Item></Items>"
)


def test_prima_refuses_an_external_entity_without_reading_the_file(secret_file: Path) -> None:
    for target in (secret_file, Path("/etc/passwd")):
        with pytest.raises(MalformedResponse, match="DTD") as caught:
            parse_response(xxe(PRIMA_BODY.format(e="e"), target), "Items")
        assert "SECRET-CONTENT" not in str(caught.value) and "root:x:0:0" not in str(caught.value)


def test_prima_refuses_billion_laughs() -> None:
    with pytest.raises(MalformedResponse, match="DTD"):
        parse_response(billion_laughs(PRIMA_BODY.format(e="lol9")), "Items")


def test_the_xml_files_profile_refuses_an_external_entity_without_reading_the_file(secret_file: Path) -> None:
    for target in (secret_file, Path("/etc/passwd")):
        with pytest.raises(MalformedFile, match="DTD") as caught:
            XML_FILES.load(RecordKind.ITEM, xxe(FILES_BODY.format(e="e"), target))
        assert "SECRET-CONTENT" not in str(caught.value) and "root:x:0:0" not in str(caught.value)


def test_the_xml_files_profile_refuses_billion_laughs() -> None:
    with pytest.raises(MalformedFile, match="DTD"):
        XML_FILES.load(RecordKind.ITEM, billion_laughs(FILES_BODY.format(e="lol9")))


def test_a_dtd_hidden_from_the_byte_scan_by_utf16_is_still_refused(secret_file: Path) -> None:
    """Defence in depth: `<!DOCTYPE` in UTF-16 is not the bytes the pre-scan looks for; the parsed
    document's own DTD is checked too, and the external entity was never resolved."""
    text = xxe(FILES_BODY.format(e="e"), secret_file).decode().replace('<?xml version="1.0"?>', "")
    with pytest.raises(MalformedFile) as caught:
        XML_FILES.load(RecordKind.ITEM, text.encode("utf-16"))
    assert "SECRET-CONTENT" not in str(caught.value)


def test_xml_without_a_dtd_still_reads() -> None:
    rows = XML_FILES.load(RecordKind.ITEM, FILES_BODY.replace("&{e};", "MUG-1").encode())
    assert rows[0].values["sku"] == "MUG-1"
    root = parse_response(PRIMA_BODY.replace("&{e};", "MUG-1").encode(), "Items")
    assert root.find("Item") is not None
