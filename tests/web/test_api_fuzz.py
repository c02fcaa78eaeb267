"""schemathesis against the API's own OpenAPI document: generated requests never get a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.web.rig import START, seed
from trueup.web import auth
from trueup.web.app import Web, create_app

TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    store = seed(Path(tmp_path_factory.mktemp("fuzz")) / "web.db")
    with store.tx() as conn:
        secret = auth.new_token(conn, "admin", "fuzz", START)
    assert secret
    TOKEN["authorization"] = f"Bearer {secret}"
    yield create_app(Web(store, clock=lambda: START))
    store.close()


def test_no_request_gets_a_server_error(api_app: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api_app, headers=TOKEN)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    statuses: set[int] = set()
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: Any) -> None:
            response = case.call_and_validate(headers=TOKEN, checks=[not_a_server_error])
            statuses.add(response.status_code)

        call()
    assert 200 in statuses and 401 not in statuses  # the token got in: the calls reached the handlers
