"""Opening the database: SQLite in WAL mode by default, PostgreSQL through the same code."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

MIGRATIONS = str(Path(__file__).parent / "migrations")
log = logging.getLogger("trueup.store")


def head_revision() -> str:
    """The newest migration's revision. Revisions are numbered like their files (`0002_….py` is "0002")
    and form one line, so the highest number is the head; a test holds this to Alembic's own answer."""
    names = (Path(MIGRATIONS) / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")
    return max(path.name[:4] for path in names)


# The databases this process opened, so that an error from deep inside a command can name the file.
OPENED: list[str] = []


def database_trouble(exc: BaseException) -> str:
    """A database failure in plain words, naming the database (never its password) and the fix."""
    where = OPENED[-1] if OPENED else "the database named by runtime.database_url"
    said = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200] if str(exc) else type(exc).__name__
    low = said.lower()
    if "locked" in low or "busy" in low:
        what, fix = (
            "is locked by another program",
            "stop the other program (another trueup, a backup, a viewer)",
        )
    elif "full" in low or "no space" in low:
        what, fix = "could not be written: the disk is full", "free space on that disk"
    elif "not a database" in low or "malformed" in low or "corrupt" in low:
        return (
            f"{where} is damaged ({said}). Resolution: stop trueup and restore the file from a backup; do "
            "not delete it, it records which orders reached the ERP (PRAGMA integrity_check tells how much "
            "is readable)."
        )
    else:
        what, fix = f"failed ({said})", "check the database and that this user may write to it"
    return (
        f"{where} {what}. Nothing was lost: the unfinished transaction was rolled back and the work stays "
        f"in the ledger. Resolution: {fix}, then run the command again."
    )


def open_engine(url: str) -> Engine:
    """An engine for `url`. SQLite gets WAL, a busy timeout and foreign keys; the file's folder is made."""
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    OPENED.append(str(parsed.database) if sqlite else parsed.render_as_string())  # password hidden
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            path.parent.mkdir(parents=True, exist_ok=True)
            # The database holds customers' names and addresses: only its owner may read it. SQLite gives
            # its -wal and -shm files the database file's mode, so creating it 0600 covers them too.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        # hide_parameters: a database error's text never carries the statement's values (order payloads)
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy's BEGIN reach SQLite so that a claim is one atomic step.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg"))
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see open_engine)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision. Safe to run on every start: a database already at
    the head is seen with one query, without loading Alembic (a fifth of a second of every CLI start)."""
    with engine.connect() as connection:
        try:
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:  # no version table yet: a new database
            current = None
        connection.rollback()
    # the URL as SQLAlchemy shows it: the password hidden
    where = engine.url.render_as_string()
    if current == head_revision():
        log.debug("database %s: schema at revision %s", where, current)
        return
    if current is None and engine.dialect.name == "sqlite" and _created_at_head(engine):
        log.debug("database %s: new, created at revision %s", where, head_revision())
        return
    log.debug("database %s: migrating from revision %s to %s", where, current, head_revision())
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _created_at_head(engine: Engine) -> bool:
    """A new, empty SQLite database gets the declared schema at once, stamped at the head, as Alembic would
    stamp it: 8 ms instead of 80 (loading Alembic and replaying every migration), on every first start, in
    every test, and in every fresh bench run. A test holds this schema to the migrated one, table by table
    and index by index. Within one `BEGIN IMMEDIATE`, so two processes opening the same new file cannot
    both create it; a database that holds anything at all is left to Alembic."""
    from trueup.store.schema import metadata

    with engine.begin() as connection:
        if connection.execute(text("SELECT count(*) FROM sqlite_master")).scalar():
            return False
        metadata.create_all(connection)
        connection.execute(
            text(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
        )
        stamp = text("INSERT INTO alembic_version (version_num) VALUES (:head)")
        connection.execute(stamp, {"head": head_revision()})
    return True
