"""`trueup check` beyond the file's own shape: what a config needs from the machine it runs on.

Every problem is collected and reported at once: a secret variable that is not set, an ERP table its
connector refuses (e.g. `kind = "stokly"` without `[erp.stokly]`), a database that cannot be the one meant
(a SQLite path whose folder does not exist, a PostgreSQL server that does not answer). Nothing here
creates anything: a mistyped database path must not become a new, empty database that reports all clear.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from trueup.config import Config, secret_value
from trueup.errors import TrueupError


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def secret_envs(cfg: Config) -> dict[str, str]:
    """The environment variables this config reads secrets from, by the key that names each."""
    envs = {f"storefront.{role}_env": env for role, env in cfg.storefront.secret_envs().items()}
    options = cfg.erp.options()
    uses_token = cfg.erp.kind in ("rest", "stokly") or (
        cfg.erp.kind in ("files", "merret")
        and options.get("transport") == "sftp"
        and not options.get("client_key")
    )
    if uses_token:
        envs["erp.token_env"] = cfg.erp.token_env
    return envs


def sqlite_path(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def database_problem(database_url: str) -> str:
    """Why the database cannot be the one meant, or ''. Never shows a password."""
    url = make_url(database_url)
    path = sqlite_path(database_url)
    if path is not None:
        if not path.parent.is_dir():
            return (
                f"runtime.database_url: the folder {path.parent} does not exist, so {path} cannot be the "
                "database trueup has been using. Resolution: correct the path (trueup never creates a "
                "database's folder for you)."
            )
        return ""
    if url.get_backend_name() == "postgresql":
        from sqlalchemy import text

        from trueup.store.db import open_engine

        engine = open_engine(str(url.set(query={**url.query, "connect_timeout": "5"})))
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # whatever the driver raises, say it in one line without the URL
            first = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200] if str(exc) else ""
            where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database}"
            return (
                f"runtime.database_url: cannot reach PostgreSQL at {where} "
                f"({type(getattr(exc, 'orig', exc)).__name__}: {first}). Resolution: check "
                "that the server is up, reachable from here, and that the user and database exist."
            )
        finally:
            engine.dispose()
    return ""


async def _erp_offline(cfg: Config) -> str:
    """Build the ERP connector without reaching the ERP: its own table is checked the way a run checks it."""
    import aiohttp

    from trueup.deployment import connect_erp

    async with aiohttp.ClientSession() as session:
        try:
            erp = await connect_erp(session, cfg.erp)
        except TrueupError as exc:
            return str(exc)
        await erp.aclose()
    return ""


def preflight(cfg: Config) -> Findings:
    found = Findings()
    for key, env in secret_envs(cfg).items():
        if not secret_value(env):
            found.problems.append(
                f"{key}: the environment variable {env} is not set. Resolution: set it in the service's "
                "environment (or name the variable that holds the secret)."
            )
    erp = asyncio.run(_erp_offline(cfg))
    if erp and not erp.startswith("secret missing"):
        found.problems.append(erp)
    if db := database_problem(cfg.runtime.database_url):
        found.problems.append(db)
    path = sqlite_path(cfg.runtime.database_url)
    if path is not None and not path.exists() and path.parent.is_dir():
        found.notes.append(f"database {path} does not exist yet: the first sync creates it")
    return found
