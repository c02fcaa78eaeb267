"""Fault injection for the sandbox emulators.

`Faults` holds the switchable fault rates and a seeded random generator, so that a run is reproducible.
`FaultsMiddleware` (pure ASGI, cheap on the hot path) applies them to every request whose path is not under
`/_sandbox/`: a slow response, 429 with `Retry-After`, 503 before processing, or, the nastiest real case,
502 after the request was processed in full (which is what tests a client's idempotency), an HTML
maintenance page served with 200, or the real answer cut off half-way (a truncated JSON page).
`fault_routes` gives the admin endpoints `GET|POST /_sandbox/faults` and `GET /_sandbox/stats`.
Each emulator passes an error-body factory so that injected errors look like that system's errors.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ADMIN_PREFIX",
    "ErrorBody",
    "FaultStats",
    "Faults",
    "FaultsMiddleware",
    "default_error_body",
    "fault_routes",
]

ADMIN_PREFIX = "/_sandbox/"
"""Paths under this prefix are admin endpoints: never subject to faults, never counted."""

ErrorBody = Callable[[int, str], Mapping[str, Any]]
"""Builds the JSON body of an injected error from (status code, message)."""

_RATES = (
    "error_rate",
    "error_after_commit_rate",
    "rate_limit_rate",
    "slow_rate",
    "maintenance_rate",
    "truncated_rate",
)
MAINTENANCE_PAGE = (
    b"<!doctype html><html><head><title>Maintenance</title></head>"
    b"<body><h1>We'll be back soon</h1><p>The store is down for maintenance.</p></body></html>"
)
_COUNTS = ("retry_after", "latency_ms", "seed")


def default_error_body(status: int, message: str) -> Mapping[str, Any]:
    """A neutral error body, for apps that pass no factory of their own."""
    return {"error": f"http_{status}", "message": message}


@dataclass
class FaultStats:
    """Counts of the requests seen and the faults injected since the last reset."""

    requests: int = 0
    unavailable: int = 0
    rate_limited: int = 0
    after_commit: int = 0
    slow: int = 0
    maintenance: int = 0
    truncated: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The wire shape of `GET /_sandbox/stats`."""
        return {
            "requests": self.requests,
            "faults": {
                "503": self.unavailable,
                "429": self.rate_limited,
                "502_after_commit": self.after_commit,
                "slow": self.slow,
                "maintenance": self.maintenance,
                "truncated": self.truncated,
            },
        }


@dataclass
class Faults:
    """Fault settings for one emulator. Rates are probabilities from 0 to 1.

    - `error_rate`: answer 503 before processing.
    - `error_after_commit_rate`: process the request in full, then answer 502 anyway.
    - `rate_limit_rate`: answer 429 with `Retry-After: <retry_after>` (seconds).
    - `slow_rate`: delay the response by `latency_ms` before anything else happens.
    - `maintenance_rate`: answer 200 with an HTML maintenance page (a proxy in front of the system).
    - `truncated_rate`: process the request, then send only the first half of the real body, with 200.
    - `seed`: seeds `rng`; setting it again (via `update`) re-seeds.
    """

    error_rate: float = 0.0
    error_after_commit_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    slow_rate: float = 0.0
    latency_ms: int = 0
    maintenance_rate: float = 0.0
    truncated_rate: float = 0.0
    seed: int = 0
    rng: random.Random = field(init=False, repr=False, compare=False)
    stats: FaultStats = field(default_factory=FaultStats, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        _validate(self.settings())

    def settings(self) -> dict[str, Any]:
        """The current settings, as answered by `GET /_sandbox/faults`."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("rng", "stats")}

    def update(self, changes: Mapping[str, Any]) -> None:
        """Set any of the settings; raises `ValueError` (changing nothing) for an unknown or bad value."""
        merged = self.settings()
        unknown = sorted(set(changes) - set(merged))
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
        merged.update(changes)
        _validate(merged)
        for name in _RATES:
            setattr(self, name, float(merged[name]))
        for name in _COUNTS:
            setattr(self, name, int(merged[name]))
        if "seed" in changes:
            self.rng = random.Random(self.seed)

    def clear(self) -> None:
        """Switch every fault off (the seed and the counters are kept)."""
        self.update({name: 0.0 for name in _RATES})

    def reset_stats(self) -> None:
        """Zero the request and fault counters."""
        self.stats = FaultStats()


def _validate(settings: Mapping[str, Any]) -> None:
    for name in _RATES:
        value = settings[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be a number from 0 to 1, not {value!r}")
    for name in _COUNTS:
        value = settings[name]
        if isinstance(value, bool) or not isinstance(value, int) or (name != "seed" and value < 0):
            raise ValueError(f"{name} must be a non-negative integer, not {value!r}")


class FaultsMiddleware:
    """Pure ASGI middleware that injects the faults of a `Faults` into every non-admin HTTP request."""

    def __init__(self, app: ASGIApp, faults: Faults, error_body: ErrorBody = default_error_body) -> None:
        self.app = app
        self.faults = faults
        self.error_body = error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        faults = self.faults
        stats = faults.stats
        rng = faults.rng
        stats.requests += 1
        if faults.slow_rate > 0.0 and rng.random() < faults.slow_rate:
            stats.slow += 1
            await asyncio.sleep(faults.latency_ms / 1000.0)
        if faults.rate_limit_rate > 0.0 and rng.random() < faults.rate_limit_rate:
            stats.rate_limited += 1
            retry = [(b"retry-after", str(faults.retry_after).encode())]
            await self._error(send, 429, "Too many requests (sandbox fault).", retry)
            return
        if faults.error_rate > 0.0 and rng.random() < faults.error_rate:
            stats.unavailable += 1
            await self._error(send, 503, "Service temporarily unavailable (sandbox fault).")
            return
        if faults.maintenance_rate > 0.0 and rng.random() < faults.maintenance_rate:
            stats.maintenance += 1
            await _send(send, 200, MAINTENANCE_PAGE, b"text/html; charset=utf-8")
            return
        if faults.truncated_rate > 0.0 and rng.random() < faults.truncated_rate:
            stats.truncated += 1
            captured: list[bytes] = []

            async def capture(message: Message) -> None:
                if message["type"] == "http.response.body":
                    captured.append(message.get("body", b""))

            await self.app(scope, receive, capture)
            body = b"".join(captured)
            await _send(send, 200, body[: len(body) // 2], b"application/json")
            return
        if faults.error_after_commit_rate > 0.0 and rng.random() < faults.error_after_commit_rate:
            stats.after_commit += 1
            await self.app(scope, receive, _discard)
            await self._error(send, 502, "Bad gateway (sandbox fault after the request was processed).")
            return
        await self.app(scope, receive, send)

    async def _error(
        self, send: Send, status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        body = json.dumps(self.error_body(status, message)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if extra:
            headers.extend(extra)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _send(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _discard(message: Message) -> None:
    """A `send` that drops the real response of a request answered with an after-commit fault."""


def _json(status: int, obj: Any) -> Response:
    return Response(json.dumps(obj).encode(), status_code=status, media_type="application/json")


def fault_routes(faults: Faults) -> list[BaseRoute]:
    """Admin routes: `GET /_sandbox/faults`, `POST /_sandbox/faults` (JSON body) and `GET /_sandbox/stats`."""

    async def get_faults(request: Request) -> Response:
        return _json(200, faults.settings())

    async def set_faults(request: Request) -> Response:
        try:
            changes = json.loads(await request.body() or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object")
            faults.update(changes)
        except ValueError as exc:
            return _json(400, {"error": "bad_request", "message": str(exc)})
        return _json(200, faults.settings())

    async def get_stats(request: Request) -> Response:
        return _json(200, faults.stats.as_dict())

    return [
        Route(ADMIN_PREFIX + "faults", get_faults, methods=["GET"]),
        Route(ADMIN_PREFIX + "faults", set_faults, methods=["POST"]),
        Route(ADMIN_PREFIX + "stats", get_stats, methods=["GET"]),
    ]
