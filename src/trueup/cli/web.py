"""`trueup serve` (the web dashboard) and `trueup users add|token|disable|list`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from trueup.cli.common import ConfigOpt, JsonOpt, app, console, fail
from trueup.cli.exceptions import open_store as _store

users_app = typer.Typer(no_args_is_help=True, help="Dashboard users, their roles and API tokens.")
app.add_typer(users_app, name="users")


@app.command()
def serve(
    config: ConfigOpt = Path("trueup.toml"),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    secure_cookies: Annotated[
        bool | None,
        typer.Option(
            "--secure-cookies/--no-secure-cookies",
            help="Mark the session cookie Secure. Default: when the request came over https (behind a TLS "
            "proxy, pass --secure-cookies and --proxy-headers).",
        ),
    ] = None,
    proxy_headers: Annotated[
        bool, typer.Option(help="Trust X-Forwarded-Proto/For from the proxy in front.")
    ] = False,
) -> None:
    """Serve the dashboard: each team's queue, the order trace, flow health, the JSON API and /metrics."""
    import uvicorn

    from trueup.cli.common import load
    from trueup.queue import QueueActions
    from trueup.web.app import Web, create_app

    store = _store(config)
    flow = load(config).flows.orders
    queue = QueueActions(store, line_tax_tolerance=flow.line_tax_tolerance, tax_tolerance=flow.tax_tolerance)
    web = Web(store, secure_cookies=secure_cookies, queue=queue)
    console.print(f"trueup dashboard on http://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(
        create_app(web),
        host=host,
        port=port,
        proxy_headers=proxy_headers,
        log_level="warning",
        access_log=False,
    )


def _password(env: str) -> str:
    value = os.environ.get(env)
    if value:
        return value
    entered: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return entered


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin, finance, ecommerce, warehouse, cx or viewer.")],
    config: ConfigOpt = Path("trueup.toml"),
    password_env: Annotated[
        str, typer.Option(help="Read the password from this environment variable instead of a prompt.")
    ] = "TRUEUP_PASSWORD",
) -> None:
    """Add a user (or set an existing user's role and password, re-enabling them)."""
    from trueup.runtime.clock import SystemClock
    from trueup.web.auth import add_user

    store = _store(config)
    try:
        with store.tx() as conn:
            add_user(conn, name, role, _password(password_env), SystemClock().now())
    except ValueError as exc:
        fail(str(exc))
    console.print(f"user {name} ({role}) saved")


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[str, typer.Option(help="What the token is for (e.g. prometheus).")] = "",
    config: ConfigOpt = Path("trueup.toml"),
) -> None:
    """Make an API token for a user. It is printed once on stdout; only its hash is kept."""
    from trueup.runtime.clock import SystemClock
    from trueup.web.auth import new_token

    store = _store(config)
    with store.tx() as conn:
        token = new_token(conn, name, label, SystemClock().now())
    if token is None:
        fail(f"no enabled user {name!r}")
    print(token)


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="The user to disable.")],
    config: ConfigOpt = Path("trueup.toml"),
) -> None:
    """Disable a user: their sessions and tokens stop working at once."""
    from trueup.web.auth import disable_user

    store = _store(config)
    with store.tx() as conn:
        if not disable_user(conn, name):
            fail(f"no user {name!r}")
    console.print(f"user {name} disabled; their sessions and tokens are revoked")


@users_app.command("list")
def users_list(config: ConfigOpt = Path("trueup.toml"), as_json: JsonOpt = False) -> None:
    """List users and their roles."""
    from trueup.web.auth import list_users

    store = _store(config)
    with store.tx() as conn:
        users = list_users(conn)
    if as_json:
        print(json.dumps(users, indent=2))
        return
    for u in users:
        console.print(f"{u['name']:20} {u['role']:10} {'disabled' if u['disabled'] else 'enabled'}")
