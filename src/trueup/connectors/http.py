"""A thin JSON-over-HTTP client on one aiohttp session, mapping HTTP failures onto trueup's error bands.

429 and 5xx and network errors are Retriable (with Retry-After), 401/403 are Fatal, other 4xx are returned
to the connector, which knows whether they mean "this record is wrong" or "already there".
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from trueup.errors import Fatal, RateLimited, Unavailable


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: Any
    headers: Mapping[str, str]


def loads(raw: bytes) -> Any:
    """JSON with every non-integer number read as Decimal: money must never pass through a float."""
    return json.loads(raw, parse_float=Decimal) if raw else None


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(body: Any) -> bytes:
    return json.dumps(body, default=_default, separators=(",", ":")).encode()


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


class JsonClient:
    """Base URL and headers injected, so that tests and the demo point it at a sandbox."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        system: str,
        headers: Mapping[str, str] | None = None,
        concurrency: int = 16,
    ) -> None:
        self.session = session
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
        url = f"{self.base_url}{path}"
        all_headers = {**self.headers, **(headers or {})}
        data = None
        if body is not None:
            data = dumps(body)
            all_headers["Content-Type"] = "application/json"
        async with self._slots:
            try:
                async with self.session.request(
                    method, url, params=params, data=data, headers=all_headers
                ) as resp:
                    raw = await resp.read()
                    status, resp_headers = resp.status, resp.headers
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise Unavailable(f"{self.system} {method} {path}: {type(exc).__name__}: {exc}") from exc
        try:
            parsed = loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")[:500]
        if status == 429:
            raise RateLimited(
                f"{self.system} {method} {path}: 429 rate limited",
                retry_after=retry_after_seconds(resp_headers.get("Retry-After")),
            )
        if status >= 500:
            raise Unavailable(
                f"{self.system} {method} {path}: {status} {_message(parsed)}",
                retry_after=retry_after_seconds(resp_headers.get("Retry-After")),
            )
        if status in (401, 403):
            raise Fatal(
                f"{self.system} {method} {path}: {status} not authorised: "
                f"check the token ({_message(parsed)})"
            )
        return Response(status, parsed, resp_headers)


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:300]
    return str(body)[:300]
