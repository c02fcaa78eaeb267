"""Inbound webhooks: a storefront's event push wakes the order flow early. Polling stays the source of
truth: an event carries no data trueup acts on, it only says "look now", so a lost, forged-but-refused or
delayed event costs at most one polling interval.

Every request must carry, over the raw body:
  X-Trueup-Timestamp: Unix seconds, within `window` of trueup's clock
  X-Trueup-Nonce:     8-128 characters, never seen before within the window
  X-Trueup-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<nonce>.<body>" with the shared secret>
Timestamp and nonce are inside the signature, so neither can be replaced to replay a captured request.
A refusal answers 401 (signature, timestamp, replay), 400 (malformed) or 413 (body over the limit), and is
logged with the reason, the size and the peer, never the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

log = logging.getLogger("trueup.webhooks")

SOURCES = ("magento", "commercetools")
MAX_BODY = 256 * 1024
_NONCE = re.compile(r"^[A-Za-z0-9_-]{8,128}$")


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def sign(secret: bytes, timestamp: str, nonce: str, body: bytes) -> str:
    mac = hmac.new(secret, f"{timestamp}.{nonce}.".encode("ascii") + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class Verifier:
    """Checks signature, timestamp window and nonce; remembers nonces for as long as they could be
    replayed (the window), bounded so that a flood cannot grow memory without limit."""

    def __init__(
        self,
        secret: bytes,
        *,
        window: float = 300.0,
        clock: Callable[[], float] = time.time,
        max_nonces: int = 100_000,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("webhook secret must be at least 16 bytes")
        self.secret = secret
        self.window = window
        self.clock = clock
        self.max_nonces = max_nonces
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, timestamp: str | None, nonce: str | None, signature: str | None, body: bytes) -> None:
        if not timestamp or not nonce or not signature:
            raise Refused(401, "missing signature, timestamp or nonce header")
        if not timestamp.isdigit() or not _NONCE.match(nonce):
            raise Refused(400, "malformed timestamp or nonce header")
        expected = sign(self.secret, timestamp, nonce, body)
        if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("ascii", "replace")):
            raise Refused(401, "bad signature")
        now = self.clock()
        if abs(now - int(timestamp)) > self.window:
            raise Refused(401, "timestamp outside the window")
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - self.window:
                self._seen.popitem(last=False)
            if nonce in self._seen:
                raise Refused(401, "replayed nonce")
            if len(self._seen) >= self.max_nonces:
                # Full of live nonces: refusing is safe (polling still runs), forgetting one is not.
                raise Refused(401, "too many requests in the window")
            self._seen[nonce] = now


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Refused(413 if declared.isdigit() else 400, "body over the limit" if declared.isdigit() else
                      "malformed content-length")  # fmt: skip
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise Refused(413, "body over the limit")
    return bytes(body)


def create_app(verifier: Verifier, on_event: Callable[[str], None], *, max_body: int = MAX_BODY) -> Starlette:
    """POST /webhooks/<source>: a verified event calls `on_event(source)` and answers 202."""

    async def receive(request: Request) -> JSONResponse:
        source = request.path_params["source"]
        peer = request.client.host if request.client else "?"
        size = 0
        try:
            if source not in SOURCES:
                raise Refused(404, "unknown source")
            body = await _read_limited(request, max_body)
            size = len(body)
            headers = request.headers
            verifier.verify(
                headers.get("x-trueup-timestamp"),
                headers.get("x-trueup-nonce"),
                headers.get("x-trueup-signature"),
                body,
            )
            try:
                json.loads(body)
            except ValueError:
                raise Refused(400, "body is not JSON") from None
        except Refused as refused:
            log.warning("webhook %s refused (%d): %s; %d bytes from %s", source, refused.status,
                        refused.reason, size, peer)  # fmt: skip
            return JSONResponse({"error": refused.reason}, status_code=refused.status)
        log.info("webhook %s accepted: %d bytes from %s; the %s flow looks now", source, size, peer, source)
        on_event(source)
        return JSONResponse({"accepted": True}, status_code=202)

    return Starlette(routes=[Route("/webhooks/{source}", receive, methods=["POST"])])
