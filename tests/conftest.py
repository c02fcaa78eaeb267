"""Shared fixtures: databases (SQLite and a throwaway PostgreSQL cluster), the sandbox world, a clock."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("TRUEUP_PG_BIN", "/usr/lib/postgresql/15/bin"))
REPO = Path(__file__).resolve().parents[1]
CONTRACTS = REPO / "contracts"  # vendored published contracts (contracts/README.md)


class FakeClock:
    """A clock tests move by hand: nothing waits on real time."""

    def __init__(self, start: datetime = datetime(2026, 11, 23, 9, 0, 0)) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A throwaway PostgreSQL 15 cluster on a unix socket in a temporary directory.

    PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user.
    """
    initdb = PG_BIN / "initdb"
    if not initdb.exists():
        pytest.fail(f"{initdb} missing: `make test` installs Debian's postgresql package (as root)")
    base = Path(tempfile.mkdtemp(prefix="trueup-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    run = _as_postgres()
    subprocess.run(
        [*run, str(initdb), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-k {sock} -h '' -F -c max_connections=200 -c fsync=off"
    subprocess.run(
        [
            *run,
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(base / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield str(sock)
    finally:
        subprocess.run(
            [*run, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty database in the throwaway cluster."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"host={pg_server} user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@/{name}?host={pg_server}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'trueup.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on both databases, through the same code."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'trueup.db'}"
    return str(request.getfixturevalue("pg_url"))
