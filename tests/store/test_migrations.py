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


def test_the_fast_head_check_agrees_with_alembic() -> None:
    """Start-up skips Alembic when the database is at `head_revision()`: it must be Alembic's own head."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from trueup.store.db import MIGRATIONS, head_revision

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    assert ScriptDirectory.from_config(config).get_heads() == [head_revision()]


def test_a_database_behind_the_head_is_still_migrated(db_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from trueup.store.db import MIGRATIONS, head_revision

    store = Store(db_url)
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "-1")  # undo the newest migration: the database is one behind
    store.close()
    store = Store(db_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    store.close()
    assert diff == [] and version == head_revision()
