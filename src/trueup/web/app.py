"""`trueup serve`: the dashboard and its JSON API, one FastAPI application over the store.

Every route needs a user (a browser session cookie, or `Authorization: Bearer <token>`) except `/health`
and `/login`. A browser without a session is sent to /login; anything else gets 401. Every POST made with a
session cookie must carry the session's CSRF token (form field `csrf` or header `X-CSRF-Token`); a bearer
token needs none, since a browser never sends it by itself.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import text

from trueup.queue import QueueActions
from trueup.store import Store
from trueup.web import auth
from trueup.web.auth import LoginLimiter, User
from trueup.web.insight import BreakerStates

HERE = Path(__file__).parent
OPEN_PATHS = ("/health", "/login")
SESSION_COOKIE = "trueup_session"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class _Clock:
    now: Callable[[], datetime]


@dataclass
class Web:
    store: Store
    clock: Callable[[], datetime] = utcnow
    secure_cookies: bool | None = None  # None: Secure when the request came over https
    breakers: BreakerStates | None = None
    # the queue's actions; `trueup serve` passes one with the order flow's tolerances from the config
    queue: QueueActions | None = None
    limiter: LoginLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = LoginLimiter(self.clock)
        if self.queue is None:
            self.queue = QueueActions(self.store, _Clock(self.clock))

    @property
    def actions(self) -> QueueActions:
        assert self.queue is not None  # set in __post_init__
        return self.queue


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def user_of(request: Request) -> User:
    user: User | None = getattr(request.state, "user", None)
    if user is None:  # the middleware lets no request through without one; this is the second lock
        raise HTTPException(401, "log in first")
    return user


async def check_csrf(request: Request) -> None:
    """A POST made with the session cookie must echo the session's CSRF token."""
    user = user_of(request)
    if not user.csrf:
        return  # bearer token
    sent = request.headers.get("x-csrf-token", "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = str((await request.form()).get("csrf", ""))
    if not hmac.compare_digest(sent.encode(), user.csrf.encode()):
        raise HTTPException(403, "CSRF token missing or wrong: reload the page and try again")


def _authenticate(web: Web, request: Request) -> User | None:
    now = web.clock()
    header = request.headers.get("authorization", "")
    with web.store.tx() as conn:
        if header.lower().startswith("bearer "):
            return auth.user_for(conn, header[7:].strip(), "token", now)
        cookie = request.cookies.get(SESSION_COOKIE)
        return auth.user_for(conn, cookie, "session", now) if cookie else None


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith(("/api/", "/metrics"))) and "text/html" in request.headers.get("accept", "")


def create_app(web: Web) -> FastAPI:
    from trueup.web import api, metrics, pages

    app = FastAPI(
        title="trueup",
        version="1",
        description="The exception queue, flow health and order trace of trueup. Every call needs "
        "`Authorization: Bearer <token>` (made with `trueup users token`).",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.web = web
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        request.state.user = None if path in OPEN_PATHS else _authenticate(web, request)
        if path not in OPEN_PATHS and request.state.user is None:
            if _wants_html(request) and request.method == "GET":
                return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
            return JSONResponse(
                {"detail": "authentication required"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        response = await call_next(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "frame-ancestors 'none'",
        )
        if request.state.user is not None:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, Any]:
        with web.store.tx() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok"}

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(pages.router)
    app.include_router(pages.login_router)
    app.include_router(api.router)
    app.include_router(metrics.router)
    return app


def set_session_cookie(response: Response, request: Request, secret: str, secure: bool | None) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=auth.SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" if secure is None else secure,
        path="/",
    )
