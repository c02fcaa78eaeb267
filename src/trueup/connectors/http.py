"""A thin JSON-over-HTTP client on one aiohttp session, mapping HTTP failures onto trueup's error bands.

429 and 5xx and network errors are Retriable (with Retry-After), 401/403 are Fatal, other 4xx are returned
to the connector, which knows whether they mean "this record is wrong" or "already there".
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import aiohttp
import msgspec
from yarl import URL

from trueup.connectors.keepalive import KeepAlivePool
from trueup.errors import Fatal, RateLimited, Retriable, TrueupError, Unavailable

T = TypeVar("T")


def encode_query(params: Mapping[str, str]) -> str:
    """A query string in RFC 3986 percent-encoding (a space is `%20`, never `+`; brackets are `%5B`/`%5D`):
    the form that OAuth 1.0a signs and that servers decoding with `rawurldecode` (Magento) read back."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())


async def retry_in_place(
    fetch: Callable[[], Awaitable[T]], *, attempts: int = 5, base: float = 0.5, cap: float = 60.0
) -> T:
    """`fetch()`, tried again in place on a Retriable failure, waiting at least its Retry-After: for one
    page of a long listing, so that a rate-limit storm resumes from the page that failed rather than the
    whole listing starting again from page 1. After `attempts` (a few seconds of backoff, unless the
    system asks for longer) the last failure is raised, so that a real outage reaches the engine's
    breaker and shows in health rather than being waited out here, unseen."""
    for attempt in range(1, attempts + 1):
        try:
            return await fetch()
        except Retriable as exc:
            if attempt == attempts:
                raise
            backoff = min(cap, base * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
            await asyncio.sleep(max(backoff, min(exc.retry_after or 0.0, cap)))
    raise AssertionError("unreachable")


class RequestAuth(Protocol):
    """Credentials computed per request (e.g. an OAuth 1.0a signature over the method and the full URL)."""

    def sign(self, method: str, url: str) -> Mapping[str, str]:
        """The headers that authenticate this request; `url` is exactly the URL that will be sent."""
        ...

    def explain(self, status: int, body: Any) -> str | None:
        """What a 4xx refusal means for the credentials, naming the one at fault; None if it is none."""
        ...


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: Any
    headers: Mapping[str, str]


# msgspec parses about five times faster than the standard library, and hands every non-integer number to
# Decimal as the text the server wrote: money never passes through a float.
_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_ENCODER = msgspec.json.Encoder()  # Decimal is written as a JSON string ("12.30"): exact, as it was read
# For an API whose schema wants money as a JSON number (Magento): the Decimal's own digits, never a float.
_NUMBER_ENCODER = msgspec.json.Encoder(decimal_format="number")


def loads(raw: bytes) -> Any:
    """JSON with every non-integer number read as Decimal. A malformed body raises ValueError."""
    return _DECODER.decode(raw) if raw else None


def dumps(body: Any) -> bytes:
    return _ENCODER.encode(body)


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def tls_context(ca_file: str | None) -> ssl.SSLContext | bool:
    """The TLS settings for one system: its own CA bundle (a private CA, a self-signed ERP) as well as
    verification by default. Never "verify nothing": a certificate that does not check out is refused."""
    if not ca_file:
        return True  # aiohttp's default: verify against the system's trust store
    return ssl.create_default_context(cafile=ca_file)


def network_error(what: str, exc: BaseException) -> TrueupError:
    """A request that never got an answer. A certificate that does not verify will not fix itself by
    waiting, so it stops the engine with what to do; anything else is an outage to wait out."""
    certificate = exc.certificate_error if isinstance(exc, aiohttp.ClientConnectorCertificateError) else exc
    if isinstance(certificate, ssl.SSLCertVerificationError):
        return Fatal(
            f"{what}: the server's TLS certificate did not verify ({certificate}). Resolution: if "
            "the system uses a private or self-signed CA, set ca_file in its section of trueup.toml to a "
            "PEM bundle holding that CA; otherwise fix the server's certificate (expired, wrong host name)"
        )
    return Unavailable(f"{what}: {type(exc).__name__}: {exc}")


_Params = Mapping[str, str] | None


class JsonClient:
    """Base URL and headers injected, so that tests and the demo point it at a sandbox. It sends through an
    aiohttp session, at most `concurrency` requests at once, or through a `KeepAlivePool` (the REST ERP's
    own connections, `keepalive.py`), which keeps its own limit.

    With `auth`, each request is signed: the query string is encoded here (`encode_query`) and the URL is
    sent verbatim (aiohttp would otherwise re-encode it, with `+` for a space), so that the signature covers
    the very bytes the server receives.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None,
        base_url: str,
        *,
        system: str,
        pool: KeepAlivePool | None = None,
        headers: Mapping[str, str] | None = None,
        concurrency: int = 16,
        auth: RequestAuth | None = None,
        timeout_seconds: float | None = None,
        decimals_as_numbers: bool = False,
    ) -> None:
        if (session is None) == (pool is None):
            raise ValueError("a JsonClient sends through an aiohttp session or a KeepAlivePool: give one")
        self.session = session
        self.pool = pool
        self._encode = _NUMBER_ENCODER.encode if decimals_as_numbers else _ENCODER.encode
        # This system's own timeout; None: the session's (which the deployment sets to the ERP's).
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds) if timeout_seconds else None
        self.auth = auth
        self.base_url = base_url.rstrip("/")
        self.system = system
        self.headers = dict(headers or {})
        self._slots = asyncio.Semaphore(concurrency)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        all_headers = {**self.headers, **(headers or {})}
        data = None
        if body is not None:
            data = self._encode(body)
            all_headers["Content-Type"] = "application/json"
        try:
            if self.pool is not None:
                status, resp_headers, raw = await self._pooled(method, path, params, all_headers, data)
            else:
                status, resp_headers, raw = await self._session(method, path, params, all_headers, data)
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            raise network_error(f"{self.system} {method} {path}", exc) from exc
        try:
            parsed = loads(raw)
        except ValueError:
            if 200 <= status < 300:
                # A maintenance page served with 200, or a page cut off mid-way: the system is not
                # answering properly right now, so try again later. The body is never quoted: a cut-off
                # order page holds customers' names and e-mails.
                raise Unavailable(
                    f"{self.system} {method} {path}: {status} with a body that is not JSON "
                    f"({resp_headers.get('Content-Type', 'no content type')}, {len(raw)} bytes): a "
                    "maintenance page or a truncated answer"
                ) from None
            parsed = raw.decode("utf-8", "replace")[:500]
        if status == 429:
            raise RateLimited(
                f"{self.system} {method} {path}: 429 rate limited",
                retry_after=retry_after_seconds(resp_headers.get("Retry-After")),
            )
        if status >= 500:
            raise Unavailable(
                f"{self.system} {method} {path}: {status} {error_message(parsed)}",
                retry_after=retry_after_seconds(resp_headers.get("Retry-After")),
            )
        if 300 <= status < 400 and self.pool is not None:
            raise Fatal(
                f"{self.system} {method} {path}: {status} redirected to "
                f"{resp_headers.get('Location', 'no location')!r}. Resolution: set the base URL to the "
                "address the system answers on (a request is never re-sent elsewhere on its own)"
            )
        if self.auth is not None and 400 <= status < 500:
            refusal = self.auth.explain(status, parsed)
            if refusal is not None:
                raise Fatal(f"{self.system} {method} {path}: {status} not authorised: {refusal}")
        if status in (401, 403):
            raise Fatal(
                f"{self.system} {method} {path}: {status} not authorised: "
                f"check the token ({error_message(parsed)})"
            )
        return Response(status, parsed, resp_headers)

    async def _session(
        self, method: str, path: str, params: _Params, headers: dict[str, str], data: bytes | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        assert self.session is not None
        url: str | URL = f"{self.base_url}{path}"
        if self.auth is not None:
            if params:
                url = f"{url}?{encode_query(params)}"
                params = None
            headers.update(self.auth.sign(method, str(url)))
            url = URL(str(url), encoded=True)
        timeout = self.timeout or self.session.timeout
        async with (
            self._slots,
            self.session.request(
                method, url, params=params, data=data, headers=headers, timeout=timeout
            ) as resp,
        ):
            return resp.status, resp.headers, await resp.read()

    async def _pooled(
        self, method: str, path: str, params: _Params, headers: dict[str, str], data: bytes | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        assert self.pool is not None
        target = f"{path}?{encode_query(params)}" if params else path
        if self.auth is not None:
            headers.update(self.auth.sign(method, f"{self.base_url}{target}"))
        answer = await self.pool.send(method, target, headers, data)
        return answer.status, answer.headers, answer.body


def error_message(body: Any) -> str:
    """The system's own error message, never the rest of the body (which may echo a customer's details)."""
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or "no message")[:300]
    if isinstance(body, str) and body:
        return f"a body that is not JSON ({len(body)} characters)"
    return "no message"
