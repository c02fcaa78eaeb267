"""Alembic's migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
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


def _sqlite_shape(path: Path) -> dict[str, object]:
    """Every table's columns (by name: order aside), indexes, unique constraints and foreign keys."""
    db = sqlite3.connect(path)
    shape: dict[str, object] = {}
    tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    for table in tables:
        columns = sorted(row[1:] for row in db.execute(f"PRAGMA table_xinfo('{table}')"))
        indexes = []
        for _, name, unique, origin, partial in db.execute(f"PRAGMA index_list('{table}')"):
            named = "(automatic)" if name.startswith("sqlite_autoindex") else name
            on = tuple(row[2] for row in db.execute(f"PRAGMA index_info('{name}')"))
            indexes.append((named, unique, origin, partial, on))
        keys = sorted(row[2:] for row in db.execute(f"PRAGMA foreign_key_list('{table}')"))
        shape[table] = (columns, sorted(indexes), keys)
    shape["(index sql)"] = sorted(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'"))
    db.close()
    return shape


def test_a_new_sqlite_database_is_created_as_the_migrations_would_build_it(tmp_path: Path) -> None:
    """A new SQLite file is created from the declared schema and stamped at the head, without Alembic:
    it must be the database that replaying every migration builds (columns, types, nullability, keys,
    indexes, the version stamp), so that the next migration finds what it expects."""
    from alembic import command
    from alembic.config import Config

    from trueup.store.db import MIGRATIONS, head_revision, open_engine

    replayed = open_engine(f"sqlite:///{tmp_path / 'replayed.db'}")
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    with replayed.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    replayed.dispose()
    Store(f"sqlite:///{tmp_path / 'created.db'}").close()

    created = _sqlite_shape(tmp_path / "created.db")
    assert created == _sqlite_shape(tmp_path / "replayed.db")
    stamp = sqlite3.connect(tmp_path / "created.db").execute("SELECT version_num FROM alembic_version")
    assert stamp.fetchall() == [(head_revision(),)]


def test_a_sqlite_file_that_already_holds_tables_is_left_to_alembic(tmp_path: Path) -> None:
    """Only an empty file is created at the head: one with tables and no version stamp (made by hand, or
    by an older trueup) goes through Alembic, which refuses rather than guess."""
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE work (id INTEGER PRIMARY KEY)")
    db.commit()
    db.close()
    with pytest.raises(Exception, match="work"):
        Store(f"sqlite:///{path}")
