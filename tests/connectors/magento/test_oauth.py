"""OAuth 1.0a against the sandbox Magento over real HTTP: a signed paged read works, each wrong secret gets
Magento's own refusal and trueup names the secret, replays and stale timestamps are refused, and the query
is signed exactly as it is sent."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from yarl import URL

from trueup.connectors.http import encode_query
from trueup.connectors.magento.auth import BearerAuth, OAuth1Auth, magento_auth
from trueup.connectors.magento.client import MAGENTO_TIME, MagentoClient, OrderKey, orders_after
from trueup.errors import Fatal
from trueup.sandbox.magento import MagentoState, OAuthCredentials, create_app
from trueup.sandbox.magento_auth import (
    CONSUMER_UNKNOWN,
    NONCE_USED,
    SIGNATURE_INVALID,
    TIMESTAMP_REFUSED,
    TOKEN_UNKNOWN,
    UNAUTHORIZED,
)
from trueup.sandbox.scenario import FaultMix, generate
from trueup.sandbox.serve import ServerThread

CREDS = OAuthCredentials()
ENV = {
    "consumer_key": "MAGENTO_CK",
    "consumer_secret": "MAGENTO_CS",
    "access_token": "MAGENTO_AT",
    "access_token_secret": "MAGENTO_AS",
}
EVER, NEVER = datetime(2000, 1, 1), datetime(2100, 1, 1)
START, END = datetime(2026, 11, 23, 8), datetime(2026, 11, 23, 20)


def signer(creds: OAuthCredentials = CREDS) -> OAuth1Auth:
    values = {role: getattr(creds, role) for role in ENV}
    return OAuth1Auth(**values, env=ENV)


def other(value: str) -> str:
    """A different value of the same length and alphabet, as a mistyped or stale secret would be."""
    return ("z" if value[0] != "z" else "y") + value[1:]


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclasses.dataclass
class Sandbox:
    url: str  # the REST root, http://127.0.0.1:port/rest/default
    state: MagentoState
    clock: Clock
    orders: list[dict[str, Any]]


@pytest.fixture
def sandbox() -> Iterator[Callable[..., Sandbox]]:
    servers: list[ServerThread] = []

    def start(n: int = 12, *, token: str | None = None) -> Sandbox:
        orders = generate(3, n, start=START, end=END, faults=FaultMix.none()).orders
        state, clock = MagentoState(orders), Clock()
        server = ServerThread(create_app(state, token=token, oauth=CREDS, clock=clock))
        server.start()
        servers.append(server)
        return Sandbox(server.url + "/rest/default", state, clock, orders)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def read_all(client: MagentoClient, page_size: int = 5) -> list[dict[str, Any]]:
    return [order async for page in client.order_pages(EVER, NEVER, page_size) for order in page]


async def signed_get(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with http.get(URL(url, encoded=True), headers=headers) as resp:
        return resp.status, await resp.json()


def orders_url(sandbox: Sandbox) -> str:
    first = OrderKey(EVER.strftime(MAGENTO_TIME), 0)
    return f"{sandbox.url}/V1/orders?{encode_query(orders_after(first, NEVER, 5))}"


async def test_a_signed_paged_read_over_real_http_returns_every_order(
    sandbox: Callable[..., Sandbox], http: aiohttp.ClientSession
) -> None:
    magento = sandbox(12)
    got = await read_all(MagentoClient(http, magento.url, signer()), page_size=5)
    assert sorted(o["increment_id"] for o in got) == sorted(o["increment_id"] for o in magento.orders)


def test_the_query_is_percent_encoded_as_magento_decodes_it() -> None:
    query = encode_query({"searchCriteria[filter_groups][0][filters][0][value]": "2026-11-23 09:00:00"})
    assert (
        query
        == "searchCriteria%5Bfilter_groups%5D%5B0%5D%5Bfilters%5D%5B0%5D%5Bvalue%5D=2026-11-23%2009%3A00%3A00"
    )


async def test_a_space_sent_as_plus_is_refused_as_magento_would(
    sandbox: Callable[..., Sandbox], http: aiohttp.ClientSession
) -> None:
    """Why trueup encodes the query itself: a form encoder writes a space as `+`, which oauthlib signs as a
    space but Magento's rawurldecode keeps as a `+`, so the two base strings differ."""
    magento = sandbox()
    url = orders_url(magento).replace("%20", "+")
    status, body = await signed_get(http, url, dict(signer().sign("GET", url)))
    assert (status, body) == (401, {"message": SIGNATURE_INVALID})


@pytest.mark.parametrize(
    ("wrong", "status", "body", "named"),
    [
        ("consumer_key", 401, {"message": CONSUMER_UNKNOWN}, ["MAGENTO_CK"]),
        ("consumer_secret", 401, {"message": SIGNATURE_INVALID}, ["MAGENTO_CS", "MAGENTO_AS"]),
        ("access_token", 401, {"message": TOKEN_UNKNOWN}, ["MAGENTO_AT"]),
        ("access_token_secret", 401, {"message": SIGNATURE_INVALID}, ["MAGENTO_CS", "MAGENTO_AS"]),
    ],
)
async def test_each_wrong_secret_gets_magentos_refusal_and_trueup_names_it(
    sandbox: Callable[..., Sandbox],
    http: aiohttp.ClientSession,
    wrong: str,
    status: int,
    body: dict[str, Any],
    named: list[str],
) -> None:
    magento = sandbox()
    bad = signer(dataclasses.replace(CREDS, **{wrong: other(getattr(CREDS, wrong))}))
    url = orders_url(magento)
    assert await signed_get(http, url, dict(bad.sign("GET", url))) == (status, body)
    with pytest.raises(Fatal) as refused:
        await read_all(MagentoClient(http, magento.url, bad))
    message = str(refused.value)
    assert "401 not authorised" in message and body["message"] in message
    assert all(env in message for env in named)
    assert not any(env in message for env in set(ENV.values()) - set(named))
    assert all(getattr(CREDS, role) not in message for role in ENV)  # no secret is ever echoed


async def test_a_replayed_nonce_is_refused(
    sandbox: Callable[..., Sandbox], http: aiohttp.ClientSession
) -> None:
    magento = sandbox()
    url = orders_url(magento)
    headers = dict(signer().sign("GET", url))
    assert (await signed_get(http, url, headers))[0] == 200
    status, body = await signed_get(http, url, headers)
    assert (status, body) == (401, {"message": NONCE_USED, "parameters": [str(CREDS.consumer_id)]})


@pytest.mark.parametrize("skew", [-3600, 3600])
async def test_a_timestamp_outside_the_window_is_refused_and_blamed_on_the_clock(
    sandbox: Callable[..., Sandbox], http: aiohttp.ClientSession, skew: float
) -> None:
    """The server's clock is moved (no sleeping): our timestamps are an hour stale, or an hour ahead."""
    magento = sandbox()
    magento.clock.offset = skew
    url = orders_url(magento)
    assert await signed_get(http, url, dict(signer().sign("GET", url))) == (
        400,
        {"message": TIMESTAMP_REFUSED},
    )
    with pytest.raises(Fatal, match="clock"):
        await read_all(MagentoClient(http, magento.url, signer()))
    magento.clock.offset = 0
    assert len(await read_all(MagentoClient(http, magento.url, signer()))) == len(magento.orders)


async def test_missing_protocol_parameters_are_a_400_naming_them(
    sandbox: Callable[..., Sandbox], http: aiohttp.ClientSession
) -> None:
    magento = sandbox()
    url = orders_url(magento)
    header = signer().sign("GET", url)["Authorization"]
    without_token = ", ".join(p for p in header.split(", ") if not p.startswith("oauth_token="))
    status, body = await signed_get(http, url, {"Authorization": without_token})
    assert (status, body) == (
        400,
        {
            "message": '"%fieldName" is required. Enter and try again.',
            "parameters": {"fieldName": "oauth_token"},
        },
    )


async def test_bearer_stays_available_and_a_store_without_it_says_so(
    sandbox: Callable[..., Sandbox], http: aiohttp.ClientSession
) -> None:
    with_bearer = sandbox(6, token="t" * 32)
    assert len(await read_all(MagentoClient(http, with_bearer.url, "t" * 32))) == 6
    without = sandbox(6)  # a 2.4.4+ store with integration tokens as bearer tokens left off
    url = orders_url(without)
    assert await signed_get(http, url, {"Authorization": "Bearer " + "t" * 32}) == (401, UNAUTHORIZED)
    with pytest.raises(Fatal, match=r'storefront\.auth = "oauth1"') as refused:
        await read_all(MagentoClient(http, without.url, BearerAuth("t" * 32, "MAGENTO_TOKEN")))
    assert "MAGENTO_TOKEN" in str(refused.value)


async def test_each_request_is_signed_afresh(
    sandbox: Callable[..., Sandbox], http: aiohttp.ClientSession
) -> None:
    """Five pages, five nonces: a header reused across pages would be refused as a replay."""
    magento = sandbox(23)
    assert len(await read_all(MagentoClient(http, magento.url, signer()), page_size=5)) == 23
    url = orders_url(magento)
    first, second = signer().sign("GET", url), signer().sign("GET", url)
    assert first["Authorization"] != second["Authorization"]


def test_missing_secrets_are_named_together_and_never_echoed() -> None:
    environ = {"MAGENTO_CK": CREDS.consumer_key, "MAGENTO_AT": CREDS.access_token}
    with pytest.raises(Fatal) as missing:
        magento_auth("oauth1", ENV, environ)
    assert "MAGENTO_CS, MAGENTO_AS" in str(missing.value)
    assert CREDS.consumer_key not in str(missing.value)
    auth = magento_auth("oauth1", ENV, {**environ, "MAGENTO_CS": "x", "MAGENTO_AS": "y"})
    assert CREDS.consumer_key not in repr(auth)


def magento_hmac_signature(method: str, url: str, oauth_params: dict[str, str], cs: str, ts: str) -> str:
    """Magento 2.4's own signer (`Framework/Oauth/Helper/Signature/Hmac.php`), re-done independently of
    oauthlib: URL without the query; the query read with rawurldecode; keys sorted as decoded (`ksort`);
    each part rawurlencoded (PHP's rawurlencode is Python's quote with nothing safe but `-_.~`)."""
    import base64
    import hashlib
    import hmac
    from urllib.parse import quote, unquote, urlsplit

    def enc(text: str) -> str:
        return quote(text, safe="")

    parts = urlsplit(url)
    params = {k: v for k, v in oauth_params.items() if k != "oauth_signature"}
    for pair in parts.query.split("&"):
        key, value = pair.split("=")
        params[unquote(key)] = unquote(value)
    normalised = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()))
    base = "&".join([method.upper(), enc(f"{parts.scheme}://{parts.netloc}{parts.path}"), enc(normalised)])
    digest = hmac.new(f"{enc(cs)}&{enc(ts)}".encode(), base.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_trueups_signature_of_a_real_bracketed_page_query_is_the_one_magento_computes() -> None:
    """The sandbox checks with oauthlib too, so this compares against Magento's algorithm itself."""
    from urllib.parse import unquote

    from oauthlib.oauth1.rfc5849.utils import parse_authorization_header

    url = "https://shop.example.co.uk/rest/default/V1/orders?" + encode_query(
        orders_after(OrderKey("2026-11-23 09:00:00", 1042), datetime(2026, 11, 23, 21, 5, 7), 200)
    )
    header = signer().sign("GET", url)["Authorization"]
    oauth_params = {k: unquote(v) for k, v in parse_authorization_header(header)}
    assert oauth_params["oauth_signature_method"] == "HMAC-SHA256"
    expected = magento_hmac_signature(
        "GET", url, oauth_params, CREDS.consumer_secret, CREDS.access_token_secret
    )
    assert oauth_params["oauth_signature"] == expected
