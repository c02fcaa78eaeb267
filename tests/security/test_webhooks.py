"""Inbound webhooks over real HTTP on 127.0.0.1: only a signed, fresh, first-seen, small request wakes the
order flow; every refusal is logged without the body."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from trueup.runtime.breaker import Breaker
from trueup.runtime.engine import Engine
from trueup.runtime.retry import RetryPolicy
from trueup.sandbox.serve import ServerThread
from trueup.web.webhooks import MAX_BODY, Verifier, create_app, sign

SECRET = b"a-shared-secret-of-32-bytes-long"
NOW = 1_764_400_000
BODY = json.dumps({"event": "sales_order_save_after", "email": "ann@example.com"}).encode()


class Server:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.woken = threading.Event()
        verifier = Verifier(SECRET, window=300, clock=lambda: NOW)
        self.thread = ServerThread(create_app(verifier, self._on_event))

    def _on_event(self, source: str) -> None:
        self.events.append(source)
        self.woken.set()

    def post(self, body: bytes, *, ts: int = NOW, nonce: str = "nonce-0001", signature: str | None = None,
             source: str = "magento") -> int:  # fmt: skip
        headers = {
            "Content-Type": "application/json",
            "X-Trueup-Timestamp": str(ts),
            "X-Trueup-Nonce": nonce,
            "X-Trueup-Signature": sign(SECRET, str(ts), nonce, body) if signature is None else signature,
        }
        request = urllib.request.Request(
            f"{self.thread.url}/webhooks/{source}", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as refused:
            return int(refused.code)


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    with s.thread:
        yield s


def test_a_signed_event_is_accepted_and_wakes_the_flow(server: Server) -> None:
    assert server.post(BODY) == 202
    assert server.woken.is_set() and server.events == ["magento"]
    assert server.post(BODY, nonce="nonce-0002", source="commercetools") == 202


def test_a_bad_signature_is_401_and_logged_without_the_body(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "trueup.webhooks")
    forged = sign(b"another-secret-of-32-bytes-long!", str(NOW), "nonce-0001", BODY)
    assert server.post(BODY, signature=forged) == 401
    assert server.post(BODY, signature="") == 401  # no signature at all
    tampered = sign(SECRET, str(NOW), "nonce-0001", BODY)
    assert server.post(BODY.replace(b"ann", b"bob"), signature=tampered) == 401
    assert server.events == []
    assert "bad signature" in caplog.text and "ann@example.com" not in caplog.text
    assert "sales_order_save_after" not in caplog.text


def test_a_replayed_or_stale_request_is_401(server: Server) -> None:
    assert server.post(BODY, nonce="nonce-replay") == 202
    assert server.post(BODY, nonce="nonce-replay") == 401  # the same request again
    assert server.post(BODY, nonce="nonce-stale1", ts=NOW - 301) == 401
    assert server.post(BODY, nonce="nonce-future", ts=NOW + 301) == 401
    assert server.events == ["magento"]


def test_an_oversized_or_malformed_body_is_refused(server: Server) -> None:
    big = b'{"pad": "' + b"x" * MAX_BODY + b'"}'
    assert server.post(big) == 413
    assert server.post(b"not json", nonce="nonce-0003") == 400
    assert server.post(BODY, nonce="bad nonce!") == 400
    assert server.post(BODY, source="shopify") == 404
    assert server.events == []


async def test_a_wake_makes_the_engine_observe_before_its_interval() -> None:
    engine = Engine.__new__(Engine)  # only the scheduling loop is exercised
    engine.observed = __import__("collections").Counter()
    engine.on_event = lambda event: None
    stop, wake = asyncio.Event(), asyncio.Event()
    passes: list[int] = []

    async def observe() -> int:
        passes.append(len(passes))
        if len(passes) == 1:
            wake.set()  # a webhook arrives: the next pass must not wait the hour
        else:
            stop.set()
        return 0

    breaker = Breaker("magento", RetryPolicy(0.01, 0.1, 3), lambda event: None, activity="observing orders")
    await asyncio.wait_for(engine._every(3600, stop, observe, breaker, wake=wake), timeout=30)
    assert passes == [0, 1] and not wake.is_set()
