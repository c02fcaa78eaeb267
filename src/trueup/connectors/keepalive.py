"""HTTP/1.1 over kept-alive connections to one origin: the REST ERP's transport, one POST per order.

Why not aiohttp here, as everywhere else: an aiohttp POST (through `JsonClient`) costs the client about
68 µs of CPU against about 23 µs here (one client core, a trivial server on loopback; `docs/architecture.md`,
Performance). At 2,000 orders a second that is a tenth of the engine. What is left out is what an ERP's
JSON API does not need: aiohttp's request and response objects, cookies, redirects, proxies.

What it does:
- the response is parsed by httptools (llhttp, the parser uvicorn and aiohttp's C core build on): a
  `Content-Length` body, a chunked one, or one read until the server closes;
- `gzip` and `deflate` bodies are decoded; a body over `max_body` bytes is refused;
- TLS as `tls_context` says (the system's own CA bundle, verified by default);
- one request at a time per connection, at most `limit` connections; a connection goes back to the pool
  only after a whole response that the server lets it keep, and one idle for `idle_seconds` is closed
  rather than used. Any failure, a timeout or a cancellation closes that connection, so a late answer can
  never be read as the next request's;
- `timeout_seconds` bounds each request (connecting, or waiting for the answer), give or take a
  twentieth of it (at most a second): one sweep times out every overdue request;
- a redirect is an answer like any other: the caller sees its status (an ERP API that redirects has a
  wrong base URL, and a POST must not be re-sent somewhere else on its own).

Failures to get an answer are `HttpError` (a `ConnectionError`), timeouts are `TimeoutError`, and a
certificate that does not verify is `ssl.SSLCertVerificationError`: the caller maps them as it does
aiohttp's (`http.network_error`).
"""

from __future__ import annotations

import asyncio
import re
import ssl
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

_NOT_TOKEN = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")  # RFC 9110 token characters
_BREAK = re.compile(r"[\r\n\0]")


class HttpError(ConnectionError):
    """No usable answer: the connection failed, closed early, or the answer was not HTTP."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection, and the parser for the one response it is waiting for."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Answer] | None = None
        self.parser = httptools.HttpResponseParser(self)  # reads one response after another
        self._reset()

    def _reset(self) -> None:
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []
        self.size = 0
        self.until_close = False

    @property
    def usable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # nothing was asked: not a conversation to go on with
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.fail(HttpError("the server switched protocols"))
        except httptools.HttpParserError as exc:
            self.fail(HttpError(f"not an HTTP response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.until_close and self.waiter is not None and exc is None:  # the body ran until a clean close
            self._answer(keep=False)
            return
        self.fail(HttpError(f"the server closed the connection before answering ({exc or 'no error'})"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        names = {name.lower() for name, _ in self.headers}
        status = self.parser.get_status_code()
        self.until_close = (
            status >= 200
            and status not in (204, 304)
            and "content-length" not in names
            and "transfer-encoding" not in names
        )

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.max_body:
            self.fail(HttpError(f"the answer is larger than {self.max_body} bytes"))
            return
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.parser.get_status_code() < 200:  # "100 Continue" and the like: the answer is still to come
            self._reset()
            return
        self._answer(keep=self.parser.should_keep_alive())

    def _answer(self, *, keep: bool) -> None:
        waiter, self.waiter = self.waiter, None
        headers = CIMultiDict(self.headers)
        body = b"".join(self.chunks)
        status = self.parser.get_status_code()
        self._reset()
        if not keep:
            self.close()
        if waiter is None or waiter.done():
            return
        try:
            body = _decoded(body, headers.get("Content-Encoding", ""))
        except zlib.error as exc:
            waiter.set_exception(HttpError(f"the answer's body does not decode: {exc}"))
            return
        waiter.set_result(Answer(status, CIMultiDictProxy(headers), body))

    def fail(self, exc: Exception) -> None:
        self.close()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        self.until_close = False
        if self.transport is not None:
            self.transport.close()
            self.transport = None


def _decoded(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompress(body, wbits=47)  # 47: gzip or zlib, told apart by the header
    raise zlib.error(f"content encoding {encoding!r} is not supported")


class KeepAlivePool:
    """Connections to the origin of `base_url`; `send` takes the path after that URL's own path."""

    def __init__(
        self,
        base_url: str,
        *,
        limit: int,
        tls: ssl.SSLContext | bool = True,
        timeout_seconds: float = 30.0,
        max_body: int = 64 * 1024 * 1024,
        idle_seconds: float = 15.0,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        default_port = 443 if parts.scheme == "https" else 80
        self.host = parts.hostname
        self.port = parts.port or default_port
        self.base_path = parts.path.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._host_header = host if self.port == default_port else f"{host}:{self.port}"
        self._tls: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._tls = tls if isinstance(tls, ssl.SSLContext) else ssl.create_default_context()
        self.timeout_seconds = timeout_seconds
        self.max_body = max_body
        self._slots = asyncio.Semaphore(limit)
        # Idle connections, and when each came back. One idle past `idle_seconds` is closed rather than used:
        # a server (or a load balancer) closes idle connections on its own schedule, and a request written
        # just as it does so fails. 15 s, as aiohttp, is under most servers' own limit.
        self._idle: list[tuple[_Connection, float]] = []
        self.idle_seconds = idle_seconds
        # Waiting connections and when each gives up. One sweep a tick times them all out, rather than a
        # timer per request (asyncio.timeout costs ~4.6 µs, a quarter of a request): a request times out
        # between `timeout_seconds` and a tick later.
        self._busy: dict[_Connection, float] = {}
        self._tick = min(1.0, max(0.01, timeout_seconds / 20))
        self._sweeper: asyncio.Task[None] | None = None
        self.opened = 0  # connections opened so far (for tests and diagnostics)

    async def send(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> Answer:
        """`target` is the path (after the base URL's own) and query, already percent-encoded."""
        head = self._head(method, f"{self.base_path}{target}", headers, body)
        loop = asyncio.get_running_loop()
        async with self._slots:
            conn: _Connection | None = None
            try:
                conn = self._take_idle(loop.time())
                if conn is None:
                    async with asyncio.timeout(self.timeout_seconds):
                        conn = await self._connect()
                if conn.transport is None:  # closed by the server as soon as it was opened
                    raise HttpError("the server closed the connection before the request was sent")
                waiter: asyncio.Future[Answer] = loop.create_future()
                conn.waiter = waiter
                conn.transport.write(head + body if body else head)
                self._busy[conn] = loop.time() + self.timeout_seconds
                if self._sweeper is None:
                    self._sweeper = loop.create_task(self._sweep())
                answer = await waiter
            except BaseException:
                if conn is not None:
                    conn.waiter = None
                    conn.close()
                raise
            finally:
                if conn is not None:
                    self._busy.pop(conn, None)
            if conn.usable:
                self._idle.append((conn, loop.time()))
            return answer

    async def _sweep(self) -> None:
        """Time out the connections whose answer is overdue; stop when none is waiting."""
        loop = asyncio.get_running_loop()
        try:
            while self._busy:
                await asyncio.sleep(self._tick)
                now = loop.time()
                for conn in [c for c, deadline in self._busy.items() if deadline <= now]:
                    conn.fail(TimeoutError(f"no answer within {self.timeout_seconds:g} s"))
        finally:
            self._sweeper = None

    def _head(self, method: str, target: str, headers: Mapping[str, str], body: bytes | None) -> bytes:
        if not method or _NOT_TOKEN.search(method) or method == "HEAD":
            raise ValueError(f"method {method!r} cannot be sent")
        if not target.startswith("/") or any(c <= " " or c == "\x7f" for c in target):
            raise ValueError(f"request target {target[:80]!r} is not a percent-encoded path")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self._host_header}"]
        lines.append("Accept-Encoding: gzip, deflate")
        for name, value in headers.items():
            if not name or _NOT_TOKEN.search(name) or _BREAK.search(value):
                raise ValueError(f"header {name!r} cannot be sent: not a token name, or a line break")
            lines.append(f"{name}: {value}")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body or b'')}")
        lines.append("\r\n")
        return "\r\n".join(lines).encode()

    def _take_idle(self, now: float) -> _Connection | None:
        while self._idle:
            conn, since = self._idle.pop()  # the most recently used: the least likely to have timed out
            if conn.usable and now - since < self.idle_seconds:
                return conn
            conn.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        max_body = self.max_body
        _, conn = await loop.create_connection(
            lambda: _Connection(max_body),
            self.host,
            self.port,
            ssl=self._tls,
            server_hostname=self.host if self._tls else None,
        )
        self.opened += 1
        return conn

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()
