"""TLS is verified by default; a system's own CA comes from `ca_file`, checked when the config is read.

A real TLS server on 127.0.0.1 with a certificate signed by a CA made in the test: without the CA the
request is refused with what to do, with `ca_file` naming it the request goes through.
"""

from __future__ import annotations

import ipaddress
import ssl
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from trueup.config import example_config, parse_config
from trueup.connectors.http import JsonClient, tls_context
from trueup.connectors.keepalive import KeepAlivePool
from trueup.errors import ConfigProblems, Fatal


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    signer: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
    )
    if issuer is None:  # the CA
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def pki(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server.key): a private CA and a server certificate for 127.0.0.1."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("trueup test CA", ca_key, None, ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _cert("127.0.0.1", server_key, ca, ca_key)
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key"
    ca_file.write_bytes(_pem(ca))
    cert_file.write_bytes(_pem(server))
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_file, cert_file, key_file


@pytest.fixture
async def tls_url(pki: tuple[Path, Path, Path]) -> AsyncIterator[str]:
    _, cert_file, key_file = pki
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_file, key_file)

    async def hello(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/hello", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _config(tmp_path: Path, **storefront: object) -> dict[str, object]:
    data = tomllib.loads(example_config(datetime(2026, 11, 29, 9)))
    data["storefront"].update(storefront)
    return data


async def _get(url: str, ca_file: str | None) -> object:
    connector = aiohttp.TCPConnector(ssl=tls_context(ca_file))
    async with aiohttp.ClientSession(connector=connector) as session:
        client = JsonClient(session, url, system="magento")
        return (await client.request("GET", "/hello")).body


async def _get_pooled(url: str, ca_file: str | None) -> object:
    """As the REST ERP sends: over its own kept-alive connections, not an aiohttp session."""
    pool = KeepAlivePool(url, limit=2, tls=tls_context(ca_file))
    try:
        return (await JsonClient(None, url, system="ERP erp", pool=pool).request("GET", "/hello")).body
    finally:
        await pool.close()


@pytest.mark.parametrize("get", [_get, _get_pooled], ids=["aiohttp", "keepalive"])
async def test_tls_without_the_private_ca_is_refused_with_a_resolution(
    tls_url: str, get: Callable[[str, str | None], Awaitable[object]]
) -> None:
    with pytest.raises(Fatal) as caught:
        await get(tls_url, None)
    message = str(caught.value)
    assert "certificate" in message
    assert "Resolution:" in message and "ca_file" in message


@pytest.mark.parametrize("get", [_get, _get_pooled], ids=["aiohttp", "keepalive"])
async def test_tls_with_ca_file_in_config_verifies_the_private_ca(
    tls_url: str,
    pki: tuple[Path, Path, Path],
    tmp_path: Path,
    get: Callable[[str, str | None], Awaitable[object]],
) -> None:
    ca_file = pki[0]
    cfg = parse_config(_config(tmp_path, base_url=f"{tls_url}/rest/default", ca_file=str(ca_file)))
    assert cfg.storefront.ca_file == str(ca_file)
    assert await get(tls_url, cfg.storefront.ca_file) == {"ok": True}


def test_ca_file_that_does_not_exist_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigProblems) as caught:
        parse_config(_config(tmp_path, ca_file=str(missing)))
    message = str(caught.value)
    assert "storefront.ca_file" in message and str(missing) in message and "Resolution:" in message


def test_ca_file_that_is_not_pem_is_a_config_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate", encoding="utf-8")
    data = _config(tmp_path)
    data["erp"] = {**data["erp"], "ca_file": str(junk)}  # type: ignore[dict-item]
    with pytest.raises(ConfigProblems) as caught:
        parse_config(data)
    assert "erp.ca_file" in str(caught.value)
