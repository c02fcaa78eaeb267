"""The Stokly client against the emulator over real HTTP: the signed grant, refreshing the token before it
expires, one re-grant on a 401 and then Fatal, pacing on `x-ratelimit-remaining`, and 429 with Retry-After.
The clock is the test's and sleeps are recorded, so nothing waits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from tests.connectors.stokly.conftest import Clock, Sleeps
from trueup.connectors.stokly.client import Credentials, StoklyClient
from trueup.errors import Fatal, RateLimited
from trueup.sandbox.stokly import StoklySandbox


async def list_items(client: StoklyClient) -> list[dict[str, Any]]:
    rows, _ = await client.list_page("/v0/items", 0, 100)
    return rows


async def test_the_grant_is_signed_and_one_token_serves_many_calls(
    client: StoklyClient, sandbox: StoklySandbox
) -> None:
    for _ in range(3):
        assert len(await list_items(client)) == 3
    assert client.grants == 1 and sandbox.state.grants == 1


async def test_the_token_is_refreshed_before_it_expires_not_after(
    client: StoklyClient, sandbox: StoklySandbox, clock: Clock
) -> None:
    await list_items(client)
    clock.advance(minutes=9, seconds=30)  # tokens live 10 minutes; the client refreshes 60 s early
    old_tokens = dict(sandbox.state.tokens)
    assert all(clock.now() < expiry for expiry in old_tokens.values())  # the old one still works...
    await list_items(client)
    assert client.grants == 2  # ...but was replaced before it could fail a call
    clock.advance(seconds=10)
    await list_items(client)
    assert client.grants == 2


async def test_a_revoked_token_earns_one_fresh_grant_and_the_call_goes_through(
    client: StoklyClient, sandbox: StoklySandbox
) -> None:
    await list_items(client)
    sandbox.state.revoke_tokens()
    assert len(await list_items(client)) == 3
    assert client.grants == 2


@pytest.mark.parametrize("sandbox_options", [{"token_lifetime": timedelta(0)}])
async def test_still_unauthorised_after_a_fresh_grant_is_fatal(
    client: StoklyClient, sandbox: StoklySandbox
) -> None:
    with pytest.raises(Fatal, match="not authorised even with a fresh token"):
        await list_items(client)
    assert sandbox.state.grants <= 3  # no re-grant loop


async def test_a_wrong_signing_secret_is_fatal_and_names_the_keys(
    http: aiohttp.ClientSession, sandbox: StoklySandbox, clock: Clock
) -> None:
    state = sandbox.state
    client = StoklyClient(
        http, Credentials(state.account_key, state.client_id, "wrong"), base_url=sandbox.url, now=clock.now
    )
    with pytest.raises(Fatal, match=r"erp\.stokly\.account_key"):
        await list_items(client)


@pytest.mark.parametrize("sandbox_options", [{"rate_limit": 40}])
async def test_calls_are_spread_out_once_the_window_runs_low(client: StoklyClient, sleeps: Sleeps) -> None:
    while client.ratelimit_remaining is None or client.ratelimit_remaining >= 20:
        await list_items(client)
    assert sleeps.seconds == []
    remaining = client.ratelimit_remaining
    await list_items(client)
    await list_items(client)
    assert sleeps.seconds == [60 / (remaining + 1), 60 / remaining]


@pytest.mark.parametrize("sandbox_options", [{"rate_limit": 3}])
async def test_an_exhausted_window_is_rate_limited_with_retry_after_until_it_rolls(
    client: StoklyClient, clock: Clock
) -> None:
    await list_items(client)  # the grant and this call
    await list_items(client)
    with pytest.raises(RateLimited) as caught:
        await list_items(client)
    assert caught.value.retry_after == 60
    clock.advance(seconds=61)
    assert len(await list_items(client)) == 3
