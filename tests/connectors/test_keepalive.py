"""The REST ERP's transport (`connectors/keepalive.py`) against real servers on loopback, each scripted byte
by byte, so that every way an HTTP server answers (or fails to) is met on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import struct
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvloop

from trueup.connectors.http import JsonClient
from trueup.connectors.keepalive import HttpError, KeepAlivePool
from trueup.errors import Fatal, Unavailable

JSON = b"Content-Type: application/json\r\n"


Run = Callable[[Coroutine[Any, Any, None]], None]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run:
    """Every test on both loops: the engine runs on uvloop, whose transports are not asyncio's classes."""
    return asyncio.run if request.param == "asyncio" else uvloop.run


@dataclass
class Server:
    url: str
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[bytes] = field(default_factory=list)


HOLD = b"(hold)"  # answer nothing, and keep the connection until the client closes it
RESET = b"(reset)"  # at the end of an answer: send the rest, then reset the connection
Answer = Callable[[Server, int, int], bytes | None]  # (server, connection no, request no) -> bytes to send


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


@contextlib.asynccontextmanager
async def serving(answer: Answer) -> AsyncIterator[Server]:
    """A server on loopback that answers each request as `answer` says."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        server.open_now += 1
        server.most_open = max(server.most_open, server.open_now)
        conn, n = server.connections, 0
        try:
            while (request := await read_request(reader)) is not None:
                server.requests.append(request)
                n += 1
                reply = answer(server, conn, n)
                if reply is None:  # close without a word
                    break
                if reply == HOLD:
                    await reader.read()
                    break
                if reply.endswith(RESET):  # send what comes before, then reset the connection (RST)
                    writer.write(reply.removesuffix(RESET))
                    await writer.drain()
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
                writer.write(reply)
                await writer.drain()
                if b"Connection: close" in reply:
                    break
        finally:
            server.open_now -= 1
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    server = Server(f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/api/v1")
    try:
        yield server
    finally:
        listener.close()
        await listener.wait_closed()


@contextlib.asynccontextmanager
async def pooled(answer: Answer, **options: Any) -> AsyncIterator[tuple[Server, KeepAlivePool]]:
    """A server answering as `answer` says, and a pool of connections to it (closed at the end)."""
    async with serving(answer) as server:
        pool = KeepAlivePool(server.url, **options)
        try:
            yield server, pool
        finally:
            await pool.close()


def ok(body: bytes = b'{"ok": true}', status: bytes = b"201 Created", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 " + status + b"\r\n" + JSON + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_requests_go_one_after_another_over_one_kept_connection(
    run: Run,
) -> None:
    async def go() -> None:
        def counted(s: Server, c: int, n: int) -> bytes:
            return ok(b'{"n": %d}' % n, extra=b"X-Request-Count: %d\r\n" % n)

        async with pooled(counted, limit=4) as (server, pool):
            answers = [
                await pool.send("POST", "/sales-orders", {"Idempotency-Key": "100001"}, b"{}")
                for _ in range(5)
            ]
            assert [a.body for a in answers] == [b'{"n": %d}' % n for n in range(1, 6)]
            assert answers[-1].status == 201 and answers[-1].headers["x-request-count"] == "5"
            assert server.connections == 1 and pool.opened == 1
            head = server.requests[0].decode()
            port = server.url.split(":")[2].split("/")[0]
            assert head.startswith("POST /api/v1/sales-orders HTTP/1.1\r\n")
            assert f"\r\nHost: 127.0.0.1:{port}\r\n" in head
            assert "\r\nIdempotency-Key: 100001\r\n" in head and "\r\nContent-Length: 2\r\n" in head

    run(go())


@pytest.mark.parametrize(
    ("reply", "body"),
    [
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            b"hello world",
        ),
        (
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nread until the server closes",
            b"read until the server closes",
        ),
        (
            ok(gzip.compress(b'{"packed": true}'), b"200 OK", b"Content-Encoding: gzip\r\n"),
            b'{"packed": true}',
        ),
        (b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"{}", b"200 OK"), b"{}"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", b""),
    ],
    ids=["chunked", "until-close", "gzip", "after-100-continue", "no-content"],
)
def test_every_way_of_framing_a_body_is_read_whole(run: Run, reply: bytes, body: bytes) -> None:
    async def go() -> None:
        async with pooled(lambda s, c, n: reply, limit=1) as (_, pool):
            first = await pool.send("GET", "/x", {})
            second = await pool.send("GET", "/x", {})  # on the same connection if it was kept, else a new one
            assert first.body == body and second.body == body

    run(go())


def test_connection_close_is_honoured_and_the_next_request_opens_a_new_one(
    run: Run,
) -> None:
    async def go() -> None:
        async with pooled(lambda s, c, n: ok(extra=b"Connection: close\r\n"), limit=1) as (server, pool):
            for _ in range(3):
                assert (await pool.send("POST", "/so", {}, b"{}")).status == 201
            assert server.connections == 3 and pool.opened == 3

    run(go())


@pytest.mark.parametrize(
    ("first", "says"),
    [
        (None, "closed the connection before answering"),
        (
            b'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 100\r\n\r\n{"cut',
            "closed the connection before answering",
        ),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not an HTTP response"),
        (ok(b"x" * 5000), "larger than 1000 bytes"),
        (ok(b"not gzip", extra=b"Content-Encoding: gzip\r\n"), "does not decode"),
        (b'HTTP/1.1 200 OK\r\n\r\n{"read until the server clo' + RESET, "closed the connection before"),
    ],
    ids=["closed-unanswered", "cut-off-body", "not-http", "too-large", "bad-gzip", "reset-mid-body"],
)
def test_a_broken_answer_is_an_error_and_its_connection_is_never_used_again(
    run: Run, first: bytes | None, says: str
) -> None:
    async def go() -> None:
        def broken_first(s: Server, c: int, n: int) -> bytes | None:
            return first if c == 1 else ok()

        async with pooled(broken_first, limit=1, max_body=1000) as (server, pool):
            with pytest.raises(HttpError, match=says):
                await pool.send("POST", "/so", {}, b"{}")
            assert (await pool.send("POST", "/so", {}, b"{}")).body == b'{"ok": true}'
            assert server.connections == 2

    run(go())


def test_a_timeout_closes_the_connection_so_a_late_answer_is_never_read_as_the_next_one(
    run: Run,
) -> None:
    async def go() -> None:
        async with pooled(
            lambda s, c, n: HOLD if c == 1 else ok(b'{"who": "second"}'), limit=1, timeout_seconds=0.2
        ) as (server, pool):
            with pytest.raises(TimeoutError):
                await pool.send("POST", "/so", {}, b"{}")
            assert (await pool.send("POST", "/so", {}, b"{}")).body == b'{"who": "second"}'
            assert server.connections == 2 and len(server.requests) == 2

    run(go())


def test_a_connection_idle_too_long_is_closed_rather_than_used(run: Run) -> None:
    async def go() -> None:
        async with pooled(lambda s, c, n: ok(), limit=1, idle_seconds=0) as (server, pool):
            for _ in range(3):
                assert (await pool.send("POST", "/so", {}, b"{}")).status == 201
            assert server.connections == 3 and pool.opened == 3

    run(go())


def test_no_more_than_limit_connections_are_open_at_once(
    run: Run,
) -> None:
    async def go() -> None:
        async with pooled(lambda s, c, n: ok(), limit=3) as (server, pool):
            answers = await asyncio.gather(*(pool.send("POST", "/so", {}, b"{}") for _ in range(30)))
            assert len(answers) == 30 and all(a.status == 201 for a in answers)
            assert 1 <= server.most_open <= 3 and pool.opened <= 3

    run(go())


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("POST", "/so", {"X-Note": "one\r\nX-Injected: two"}),
        ("POST", "/so", {"Bad Name": "x"}),
        ("POST", "/so?x=a b", {}),
        ("GET /x HTTP/1.1\r\n", "/so", {}),
    ],
    ids=["line-break-in-value", "space-in-name", "space-in-target", "method-with-line-break"],
)
def test_a_request_that_would_smuggle_bytes_is_refused_before_anything_is_sent(
    run: Run, method: str, target: str, headers: dict[str, str]
) -> None:
    async def go() -> None:
        async with pooled(lambda s, c, n: ok(), limit=1) as (server, pool):
            with pytest.raises(ValueError, match=r"cannot be sent|not a percent-encoded path"):
                await pool.send(method, target, headers, b"{}")
            assert server.connections == 0 and pool.opened == 0

    run(go())


def test_json_client_over_the_pool_refuses_a_redirect_and_reports_an_outage(
    run: Run,
) -> None:
    async def go() -> None:
        moved = b"HTTP/1.1 308 Permanent Redirect\r\nLocation: https://erp.example/api/v1/so\r\n"
        moved += b"Content-Length: 0\r\n\r\n"
        async with pooled(lambda s, c, n: moved, limit=1) as (server, pool):
            client = JsonClient(None, server.url, system="ERP erp", pool=pool)
            with pytest.raises(Fatal, match=r"redirected to .https://erp\.example/api/v1/so.*Resolution"):
                await client.request("POST", "/so", body={"a": 1})

            listener = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
            port = listener.sockets[0].getsockname()[1]
            listener.close()
            await listener.wait_closed()  # nothing listens on that port any more
            url = f"http://127.0.0.1:{port}"
            pool = KeepAlivePool(url, limit=1)
            with pytest.raises(Unavailable, match="ERP erp POST /so"):
                await JsonClient(None, url, system="ERP erp", pool=pool).request("POST", "/so", body={})

    run(go())
