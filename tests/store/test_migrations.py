"""Alembic's migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from trueup.store import Store
from trueup.store.schema import metadata


def test_migrations_match_the_declared_schema(db_url: str) -> None:
    store = Store(db_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    assert diff == []


def test_migrating_twice_is_harmless(db_url: str) -> None:
    Store(db_url).close()
    store = Store(db_url)
    assert store.counts() == {}
    store.close()
