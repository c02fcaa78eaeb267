"""The Magento client against the Magento sandbox over real HTTP: key paging that stops on the page that
holds everything left (`total_count`), the inclusive updated_at window, a server that ignores the key
filter, and HTTP failures mapped onto trueup's error bands. Paging while the store changes is in
test_key_paging.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from trueup.connectors.magento.client import MagentoClient
from trueup.connectors.magento.connector import MagentoOrders
from trueup.errors import Fatal, RateLimited, Unavailable
from trueup.sandbox.faults import Faults
from trueup.sandbox.magento import MagentoState, create_app
from trueup.sandbox.scenario import FaultMix, generate
from trueup.sandbox.serve import ServerThread

TOKEN = "magento-test-token"
START, END = datetime(2026, 11, 23, 8), datetime(2026, 11, 23, 20)
EVER, NEVER = datetime(2000, 1, 1), datetime(2100, 1, 1)


@dataclass
class Magento:
    url: str  # the REST root: http://127.0.0.1:port/rest
    state: MagentoState
    faults: Faults
    orders: list[dict[str, Any]]


@pytest.fixture
def serve() -> Iterator[Callable[[int], Magento]]:
    """Start a Magento sandbox holding `n` generated orders; stopped at teardown."""
    servers: list[ServerThread] = []

    def start(n: int) -> Magento:
        orders = generate(7, n, start=START, end=END, faults=FaultMix.none()).orders
        state, faults = MagentoState(orders), Faults()
        server = ServerThread(create_app(state, token=TOKEN, faults=faults))
        server.start()
        servers.append(server)
        return Magento(server.url + "/rest", state, faults, orders)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def fetch_all(
    client: MagentoClient, since: datetime, until: datetime, page_size: int
) -> list[list[Any]]:
    return [page async for page in client.order_pages(since, until, page_size)]


@pytest.mark.parametrize(("n", "page_size", "pages"), [(23, 5, 5), (20, 5, 4), (3, 200, 1), (5, 1, 5)])
async def test_paging_yields_each_order_exactly_once(
    serve: Callable[[int], Magento], http: aiohttp.ClientSession, n: int, page_size: int, pages: int
) -> None:
    magento = serve(n)
    client = MagentoClient(http, magento.url, TOKEN)
    got = await fetch_all(client, EVER, NEVER, page_size)
    assert len(got) == pages
    assert all(len(page) <= page_size for page in got)
    ids = [order["increment_id"] for page in got for order in page]
    assert sorted(ids) == sorted(o["increment_id"] for o in magento.orders)
    assert len(set(ids)) == n
    # It stopped at total_count: no request past the last page (which the sandbox would answer again).
    assert magento.faults.stats.requests == pages


async def test_a_server_that_ignores_the_key_filter_stops_paging_with_an_error(
    http: aiohttp.ClientSession,
) -> None:
    """Magento 2.3 answers any page past the end with its last page, and an extension may drop filters: a
    page that does not move the key forward must end the pass loudly, not loop forever."""
    requests: list[dict[str, str]] = []
    order = {"entity_id": 7, "increment_id": "000000007", "updated_at": "2026-11-23 09:00:00"}

    async def orders(request: Request) -> JSONResponse:
        requests.append(dict(request.query_params))
        return JSONResponse({"items": [order], "total_count": 1000})

    with ServerThread(Starlette(routes=[Route("/rest/V1/orders", orders)])) as server:
        pages = []
        with pytest.raises(Fatal, match="ignored the paging filter"):
            async for page in MagentoClient(http, server.url + "/rest", TOKEN).order_pages(EVER, NEVER, 1):
                pages.append(page)
    assert pages == [[order]]  # the first page was good and was handed on
    assert len(requests) == 2
    # Always page 1; the second request asks for what comes after the first page's last key.
    assert [r["searchCriteria[currentPage]"] for r in requests] == ["1", "1"]
    key_group = "searchCriteria[filter_groups][2][filters]"
    assert requests[1][f"{key_group}[0][value]"] == "2026-11-23 09:00:00"
    assert requests[1][f"{key_group}[1][field]"] == "entity_id"
    assert requests[1][f"{key_group}[1][value]"] == "7"


async def test_orders_come_oldest_first(serve: Callable[[int], Magento], http: aiohttp.ClientSession) -> None:
    magento = serve(12)
    got = await fetch_all(MagentoClient(http, magento.url, TOKEN), EVER, NEVER, 5)
    stamps = [(o["updated_at"], o["entity_id"]) for page in got for o in page]
    assert stamps == sorted(stamps)


async def test_the_updated_at_window_is_inclusive_at_both_ends(
    serve: Callable[[int], Magento], http: aiohttp.ClientSession
) -> None:
    magento = serve(23)
    stamps = sorted(o["updated_at"] for o in magento.orders)
    since, until = datetime.fromisoformat(stamps[4]), datetime.fromisoformat(stamps[15])
    got = await fetch_all(MagentoClient(http, magento.url, TOKEN), since, until, 5)
    seen = [o["updated_at"] for page in got for o in page]
    assert seen == stamps[4:16]  # both boundary orders included, nothing outside


async def test_an_empty_window_yields_no_pages(
    serve: Callable[[int], Magento], http: aiohttp.ClientSession
) -> None:
    magento = serve(5)
    got = await fetch_all(MagentoClient(http, magento.url, TOKEN), datetime(2030, 1, 1), NEVER, 5)
    assert got == []


async def test_the_connector_gives_pages_of_parsed_orders_with_a_high_water_mark(
    serve: Callable[[int], Magento], http: aiohttp.ClientSession
) -> None:
    magento = serve(7)
    source = MagentoOrders(MagentoClient(http, magento.url, TOKEN), page_size=3)
    pages = [page async for page in source.orders_updated(EVER, NEVER)]
    assert [len(p.orders) for p in pages] == [3, 3, 1]
    assert all(src.order is not None for p in pages for src in p.orders)
    for page in pages:
        newest = max(src.version for src in page.orders)
        assert page.high_water == newest.replace(" ", "T")


async def test_a_wrong_token_is_fatal(serve: Callable[[int], Magento], http: aiohttp.ClientSession) -> None:
    magento = serve(3)
    with pytest.raises(Fatal, match="401"):
        await fetch_all(MagentoClient(http, magento.url, "not-the-token"), EVER, NEVER, 5)


async def test_a_503_is_unavailable(serve: Callable[[int], Magento], http: aiohttp.ClientSession) -> None:
    magento = serve(3)
    magento.faults.update({"error_rate": 1.0})
    with pytest.raises(Unavailable, match="503"):
        await fetch_all(MagentoClient(http, magento.url, TOKEN), EVER, NEVER, 5)


async def test_a_429_is_rate_limited_with_retry_after_from_the_header(
    serve: Callable[[int], Magento], http: aiohttp.ClientSession
) -> None:
    magento = serve(3)
    magento.faults.update({"rate_limit_rate": 1.0, "retry_after": 17})
    with pytest.raises(RateLimited) as caught:
        await fetch_all(MagentoClient(http, magento.url, TOKEN), EVER, NEVER, 5)
    assert caught.value.retry_after == 17.0


async def test_an_unreachable_magento_is_unavailable(http: aiohttp.ClientSession) -> None:
    server = ServerThread(create_app(MagentoState(), token=TOKEN))
    with server:
        url = server.url + "/rest"
    with pytest.raises(Unavailable):  # the server is stopped: connection refused
        await fetch_all(MagentoClient(http, url, TOKEN), EVER, NEVER, 5)
