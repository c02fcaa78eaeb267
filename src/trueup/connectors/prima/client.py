"""Prima's web service handler over one aiohttp session: POST an envelope, get a `<Response>` back.

HTTP failures map onto trueup's bands (429 → RateLimited, 5xx, network and unreadable answers →
Unavailable, 401/403/404 → Fatal: access to Prima is network-controlled and the handler path is config).
An answer with `Status="Error"` raises `PrimaError`, which the connector turns into "already there",
"not ready yet" or a parked record.
"""

from __future__ import annotations

import asyncio

import aiohttp
from lxml import etree

from trueup.connectors.http import network_error, retry_after_seconds
from trueup.connectors.prima.xml import MalformedResponse, build_request, parse_response, serialise
from trueup.errors import Fatal, RateLimited, Rejected, Unavailable

WSOM_HANDLER = "wsomhandler"
COMPANY_HANDLER = "comwsomhandler"
CONTENT_TYPE = "text/xml; charset=ISO-8859-1"


class PrimaError(Rejected):
    """Prima answered `Status="Error"`: its code, message, field and any other attributes it gave."""

    def __init__(self, request_type: str, code: str, message: str, field: str, extra: dict[str, str]) -> None:
        super().__init__(
            f"Prima rejected the {request_type} request: {message or code}"
            + (f" (field {field})" if field else "")
            + (f" [code {code}]" if code else ""),
            field=field,
        )
        self.request_type = request_type
        self.code = code
        self.detail = message
        self.extra = extra


class PrimaClient:
    """The handler URL and Company ID injected, so that tests and the demo point it at a sandbox."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        company_id: str = "",
        system: str = "Prima",
        concurrency: int = 16,
    ) -> None:
        self.session = session
        self.company_id = company_id
        handler = COMPANY_HANDLER if company_id else WSOM_HANDLER
        self.url = f"{base_url.rstrip('/')}/{handler}"
        self.system = system
        self._slots = asyncio.Semaphore(concurrency)

    def envelope(self, request_type: str) -> tuple[etree._Element, etree._Element]:
        """A fresh `<Request>` and its `<Data>` element, for the caller to fill."""
        return build_request(request_type, self.company_id)

    async def call(self, root: etree._Element) -> etree._Element:
        """POST the envelope; the `<Response Status="OK">` root, or raise."""
        request_type = root.get("RequestType") or ""
        what = f"{self.system} {request_type}"
        async with self._slots:
            try:
                async with self.session.post(
                    self.url, data=serialise(root), headers={"Content-Type": CONTENT_TYPE}
                ) as resp:
                    raw = await resp.read()
                    status, headers = resp.status, resp.headers
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise network_error(what, exc) from exc
        retry_after = retry_after_seconds(headers.get("Retry-After"))
        if status == 429:
            raise RateLimited(f"{what}: 429 rate limited", retry_after=retry_after)
        if status >= 500:
            raise Unavailable(f"{what}: HTTP {status} {raw[:200]!r}", retry_after=retry_after)
        if status in (401, 403):
            raise Fatal(f"{what}: HTTP {status}: Prima refused this host; access is network-controlled")
        if status != 200:
            raise Fatal(f"{what}: HTTP {status} from {self.url}: check [erp] base_url and company_id")
        try:
            response = parse_response(raw, request_type)
        except MalformedResponse as exc:
            raise Unavailable(f"{what}: unreadable answer: {exc}") from None
        if response.get("Status", "").upper() != "OK":
            error = response.find("Error")
            attrs = {str(k): str(v) for k, v in error.attrib.items()} if error is not None else {}
            code = attrs.pop("Code", "")
            field = attrs.pop("Field", "")
            message = (error.text or "").strip() if error is not None else ""
            raise PrimaError(request_type, code, message, field, attrs)
        return response
