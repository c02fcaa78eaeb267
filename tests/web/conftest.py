from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FakeClock
from tests.web.rig import PASSWORDS, START, seed
from trueup.store import Store
from trueup.web.app import Web, create_app


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = seed(tmp_path / "web.db")
    yield s
    s.close()


@pytest.fixture
def web(store: Store) -> Web:
    clock = FakeClock(START)
    return Web(store, clock=clock.now)


@pytest.fixture
def client(web: Web) -> Iterator[TestClient]:
    with TestClient(create_app(web), base_url="http://testserver", follow_redirects=False) as c:
        yield c


def login(client: TestClient, role: str, password: str | None = None) -> str:
    """Log in through the form (CSRF cookie and all); returns the session's CSRF token."""
    import re

    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    answer = client.post(
        "/login",
        data={"name": role, "password": password or PASSWORDS[role], "csrf": csrf.group(1), "next": "/"},
    )
    assert answer.status_code == 303, answer.text
    home = client.get("/exceptions")
    token = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert token
    return token.group(1)
