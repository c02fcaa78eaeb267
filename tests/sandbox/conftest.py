"""Shared fixtures for the sandbox emulator tests: an HTTP client and servers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import aiohttp
import pytest
from starlette.types import ASGIApp

from trueup.sandbox.serve import ServerThread

TOKEN = "sandbox-test-token"


@pytest.fixture
def token() -> str:
    """The bearer token every emulator in these tests expects."""
    return TOKEN


@pytest.fixture
def auth() -> dict[str, str]:
    """Request headers carrying the right bearer token."""
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def serve() -> Iterator[Callable[[ASGIApp], str]]:
    """Start an ASGI app on loopback in a background thread; returns its base URL. Stopped at teardown."""
    servers: list[ServerThread] = []

    def start(app: ASGIApp) -> str:
        server = ServerThread(app)
        server.start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp client session, the client trueup's connectors use."""
    async with aiohttp.ClientSession() as session:
        yield session
