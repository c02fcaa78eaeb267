"""`trueup users add|token|disable|list` as a real process against a real database."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import cli_env, trueup
from trueup.store import Store
from trueup.web import auth
from trueup.web.app import utcnow


def test_users_add_token_disable_list(tmp_path: Path) -> None:
    db = tmp_path / "trueup.db"
    Store(f"sqlite:///{db}").close()
    config = tmp_path / "trueup.toml"
    config.write_text(
        f'[storefront]\nbase_url = "http://127.0.0.1:1"\n[erp]\nbase_url = "http://127.0.0.1:2"\n'
        f'[runtime]\ndatabase_url = "sqlite:///{db}"\n'
    )
    env = {**cli_env(), "TRUEUP_PASSWORD": "short"}
    weak = trueup("users", "add", "ann", "--role", "warehouse", "-c", str(config), env=env)
    assert weak.returncode == 2 and "8 characters" in weak.stderr
    bad = trueup(
        "users",
        "add",
        "ann",
        "--role",
        "root",
        "-c",
        str(config),
        env={**env, "TRUEUP_PASSWORD": "long-enough"},
    )
    assert bad.returncode == 2 and "expected one of" in bad.stderr
    added = trueup(
        "users",
        "add",
        "ann",
        "--role",
        "warehouse",
        "-c",
        str(config),
        env={**env, "TRUEUP_PASSWORD": "long-enough"},
    )
    assert added.returncode == 0, added.stderr
    made = trueup("users", "token", "ann", "--label", "script", "-c", str(config), env=env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    store = Store(f"sqlite:///{db}", create=False)
    try:
        with store.tx() as conn:
            user = auth.user_for(conn, token, "token", utcnow())
            assert user is not None and (user.name, user.role) == ("ann", "warehouse")
            assert auth.check_password(conn, "ann", "long-enough") is not None
        assert trueup("users", "disable", "ann", "-c", str(config), env=env).returncode == 0
        with store.tx() as conn:
            assert auth.user_for(conn, token, "token", utcnow()) is None
    finally:
        store.close()
    listed = json.loads(trueup("users", "list", "--json", "-c", str(config), env=env).stdout)
    assert [(u["name"], u["role"], u["disabled"]) for u in listed] == [("ann", "warehouse", True)]
    assert trueup("users", "token", "ann", "-c", str(config), env=env).returncode == 2
