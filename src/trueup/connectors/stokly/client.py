"""Stokly's wire: HMAC-signed grant, a bearer token refreshed before it expires, and pacing on
`x-ratelimit-remaining`, over one aiohttp session.

Errors map onto trueup's bands as `trueup.connectors.http.JsonClient` does (429/5xx/network → Retriable,
401/403 → Fatal), with one difference: a 401 on a call first earns one fresh grant and one retry, because a
token can be revoked or expire between our clock check and the server's. The clock and the sleeper are
injected, so tests prove refresh and pacing without waiting.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import simplejson

from trueup.connectors.http import Response, loads, network_error, retry_after_seconds
from trueup.errors import Fatal, RateLimited, Unavailable

DEFAULT_BASE_URL = "https://api.stok.ly"

Sleeper = Callable[[float], Awaitable[None]]
Now = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def signature(secret: str, client_id: str) -> str:
    """The grant's signature: hex HMAC-SHA256 of the client id, keyed by the secret."""
    return hmac.new(secret.encode(), client_id.encode(), hashlib.sha256).hexdigest()


def dumps(body: Any) -> bytes:
    """JSON with Decimal written as a JSON number (Stokly's money fields are numbers, not strings)."""
    return simplejson.dumps(body, use_decimal=True, separators=(",", ":")).encode()


def parse_expiry(value: Any, issued: datetime) -> datetime:
    """The grant's `expiry`: an ISO 8601 time, or epoch seconds / milliseconds (which one is not public).

    Anything unreadable counts as "already expired", so the next call re-grants rather than trusting it.
    """
    if isinstance(value, bool):
        return issued
    if isinstance(value, int | Decimal):
        seconds = float(value) / 1000 if value > 10**11 else float(value)
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return issued
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return issued


@dataclass(frozen=True, slots=True)
class Credentials:
    account_key: str
    client_id: str
    secret: str


@dataclass(frozen=True, slots=True)
class Pacing:
    """When fewer than `below` calls remain in the window, spread the rest over it."""

    below: int = 20
    window_seconds: float = 60.0

    def delay(self, remaining: int | None) -> float:
        if remaining is None or remaining >= self.below:
            return 0.0
        return self.window_seconds / (max(remaining, 0) + 1)


class StoklyClient:
    """Authenticated JSON calls to Stokly. Base URL, clock and sleeper injected."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        credentials: Credentials,
        *,
        base_url: str = DEFAULT_BASE_URL,
        concurrency: int = 16,
        refresh_before: timedelta = timedelta(seconds=60),
        pacing: Pacing | None = None,
        now: Now = utc_now,
        sleep: Sleeper = asyncio.sleep,
    ) -> None:
        self.session = session
        self.credentials = credentials
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.refresh_before = refresh_before
        self.pacing = pacing or Pacing()
        self.now = now
        self.sleep = sleep
        self.ratelimit_remaining: int | None = None
        self.grants = 0
        self._slots = asyncio.Semaphore(concurrency)
        self._token: str | None = None
        self._expires = datetime.min.replace(tzinfo=UTC)
        self._grant_lock = asyncio.Lock()

    # --- auth -------------------------------------------------------------------------------------------

    async def _current_token(self) -> str:
        if self._token is not None and self.now() < self._expires - self.refresh_before:
            return self._token
        return await self._refresh(stale=self._token)

    async def _refresh(self, *, stale: str | None) -> str:
        """Grant a new token, unless another task already replaced `stale` while we waited."""
        async with self._grant_lock:
            if self._token is not None and self._token != stale:
                return self._token
            creds = self.credentials
            body = {
                "accountkey": creds.account_key,
                "clientId": creds.client_id,
                "signature": signature(creds.secret, creds.client_id),
            }
            issued = self.now()
            resp = await self._send("POST", "/v1/grant", None, body, {})
            if resp.status in (400, 401, 403):
                raise Fatal(
                    f"Stokly refused the grant ({resp.status} {_message(resp.body)}): check "
                    f"erp.stokly.account_key, erp.stokly.client_id and the signing secret"
                )
            result = _path(resp.body, "data", "authenticationResult")
            token = result.get("accessToken") if isinstance(result, dict) else None
            if resp.status != 200 or not isinstance(token, str) or not token:
                raise Unavailable(f"Stokly POST /v1/grant answered {resp.status} without a token")
            self._token = token
            self._expires = parse_expiry(result.get("expiry"), issued)
            self.grants += 1
            return token

    # --- calls ------------------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> Response:
        """One authenticated call. 401 → one fresh grant and one retry, then Fatal."""
        token = await self._current_token()
        resp = await self._send(method, path, params, body, {"Authorization": f"Bearer {token}"})
        if resp.status == 401:
            token = await self._refresh(stale=token)
            resp = await self._send(method, path, params, body, {"Authorization": f"Bearer {token}"})
        if resp.status in (401, 403):
            raise Fatal(
                f"Stokly {method} {path}: {resp.status} not authorised even with a fresh token "
                f"({_message(resp.body)}); check the API client's permissions in Stokly"
            )
        return resp

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Any,
        headers: dict[str, str],
    ) -> Response:
        delay = self.pacing.delay(self.ratelimit_remaining)
        if delay > 0:
            await self.sleep(delay)
        data = None
        if body is not None:
            data = dumps(body)
            headers = {**headers, "Content-Type": "application/json"}
        url = f"{self.base_url}{path}"
        async with self._slots:
            try:
                async with self.session.request(method, url, params=params, data=data, headers=headers) as r:
                    raw = await r.read()
                    status, resp_headers = r.status, r.headers
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise network_error(f"Stokly {method} {path}", exc) from exc
        self._note_remaining(resp_headers.get("x-ratelimit-remaining"))
        try:
            parsed = loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")[:500]
        retry_after = retry_after_seconds(resp_headers.get("Retry-After"))
        if status == 429:
            raise RateLimited(f"Stokly {method} {path}: 429 rate limited", retry_after=retry_after)
        if status >= 500:
            raise Unavailable(f"Stokly {method} {path}: {status} {_message(parsed)}", retry_after=retry_after)
        return Response(status, parsed, resp_headers)

    def _note_remaining(self, value: str | None) -> None:
        if value is None:
            return
        try:
            self.ratelimit_remaining = int(value)
        except ValueError:
            self.ratelimit_remaining = None

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A GET that must answer 200 with a JSON object; anything else stops the flow."""
        resp = await self.request("GET", path, params=params)
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise Unavailable(f"Stokly GET {path} answered {resp.status}: {_message(resp.body)}")
        return resp.body

    async def list_page(
        self, path: str, page: int, size: int, *, filter: str = "", sort: str = ""
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of a list endpoint: its rows and `metadata.count` (the total across pages)."""
        params = {"page": str(page), "size": str(size)}
        if filter:
            params["filter"] = filter
        if sort:
            params["sortField"] = sort
            params["sortDirection"] = "ASC"
        body = await self.get_json(path, params)
        rows = body.get("data")
        if not isinstance(rows, list):
            raise Unavailable(f"Stokly GET {path} answered without a data list")
        count = _path(body, "metadata", "count")
        return [r for r in rows if isinstance(r, dict)], int(count) if isinstance(count, int) else 0


def string_value(value: str) -> str:
    """A filter's string literal. Stokly's syntax has no escape, so braces would end the literal early."""
    if "{" in value or "}" in value:
        raise ValueError(f"cannot filter Stokly on a value with braces: {value!r}")
    return f"{{@string;{value}}}"


def equals(field: str, value: str) -> str:
    return f"[{field}]=={string_value(value)}"


def _path(body: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def _message(body: Any) -> str:
    """Stokly's own message, never the rest of the body (which may echo a customer's details)."""
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or "no message")[:300]
    return f"a body that is not JSON ({len(str(body))} characters)" if body else "no message"
