"""Fixtures for the Stokly tests: the emulator on loopback with a clock the test moves, and a client on it
whose sleeps are recorded instead of slept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from trueup.connectors.stokly.client import Credentials, Pacing, StoklyClient
from trueup.sandbox.stokly import StoklySandbox

ITEMS = [
    {"item_id": "IT-1", "sku": "TEE-M", "barcode": "5012345678900", "name": "Tee M", "active": True},
    {"item_id": "IT-2", "sku": "MUG", "barcode": "5012345678917", "name": "Mug", "active": True},
    {"item_id": "IT-3", "sku": "OLD", "name": "Retired", "active": False},
]


@dataclass
class Clock:
    moment: datetime = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **kwargs: float) -> None:
        self.moment += timedelta(**kwargs)


@dataclass
class Sleeps:
    seconds: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """Override with `@pytest.mark.parametrize("sandbox_options", [{"rate_limit": 30}])`."""
    return {}


@pytest.fixture
def sandbox(clock: Clock, sandbox_options: dict[str, Any]) -> Iterator[StoklySandbox]:
    options = {"token_lifetime": timedelta(minutes=10), **sandbox_options}
    box = StoklySandbox(seed=7, now=clock.now, **options)
    box.start()
    box.load_items(ITEMS)
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(http: aiohttp.ClientSession, sandbox: StoklySandbox, clock: Clock, sleeps: Sleeps) -> StoklyClient:
    state = sandbox.state
    return StoklyClient(
        http,
        Credentials(state.account_key, state.client_id, state.secret),
        base_url=sandbox.url,
        refresh_before=timedelta(seconds=60),
        pacing=Pacing(below=20, window_seconds=60),
        now=clock.now,
        sleep=sleeps,
    )
