"""The dashboard's HTML pages: overview, exception list and detail, order trace, login."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trueup.model.exceptions import REASONS
from trueup.security.pii import mask_text
from trueup.security.reveal import record_reveal
from trueup.web import auth, charts, insight, queue, snapshots
from trueup.web.app import SESSION_COOKIE, check_csrf, set_session_cookie, user_of, web_of

router = APIRouter(include_in_schema=False)
login_router = APIRouter(include_in_schema=False)
LOGIN_COOKIE = "trueup_login"
HEALTH_HOURS = 24  # the overview's backlog and lag charts: the last day of snapshots
LARGEST = 2**62  # ledger ids fit a signed 64-bit integer; a larger one is a 422, not a database error


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    user = getattr(request.state, "user", None)
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, {"user": user, "reasons": sorted(REASONS), "teams": auth.TEAMS, **context}, status
    )
    return response


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


@login_router.get("/login")
def login_form(request: Request, next: str = "/", error: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = _render(request, "login.html", csrf=token, next=_safe_next(next), error=error)
    response.set_cookie(LOGIN_COOKIE, token, max_age=900, httponly=True, samesite="strict", path="/login")
    return response


@login_router.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    web = web_of(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
        raise HTTPException(403, "CSRF token missing or wrong: reload the login page")
    address = request.client.host if request.client else "?"
    if web.limiter.blocked(name, address):
        return _render(request, "login.html", 429, csrf=expected, next=next, error="Too many attempts; wait.")
    with web.store.tx() as conn:
        user = auth.check_password(conn, name, password)
        secret = auth.new_session(conn, user, web.clock()) if user else None
    if user is None or secret is None:
        web.limiter.failed(name, address)
        return _render(request, "login.html", 401, csrf=expected, next=next, error="Wrong name or password.")
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, request, secret, web.secure_cookies)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request) -> Response:
    web = web_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with web.store.tx() as conn:
            auth.end_session(conn, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def overview(request: Request) -> HTMLResponse:
    web = web_of(request)
    now = web.clock()
    with web.store.tx() as conn:
        teams = insight.overview(conn, now)
        flows = insight.flow_health(conn, now, web.breakers)
        by_team = insight.over_time(conn, now, by="owner")
        by_reason = insight.over_time(conn, now, by="reason")
        reasons = insight.by_reason_owner(conn)
        since = now - timedelta(hours=HEALTH_HOURS)
        backlog, lag = snapshots.series(conn, since)
    totals: dict[str, int] = {}
    for reason, _owner, n in reasons:
        totals[reason] = totals.get(reason, 0) + n
    return _render(
        request,
        "overview.html",
        teams=teams,
        flows=flows,
        chart_time=charts.stacked_days(by_team, now),
        chart_reason_time=charts.stacked_days(by_reason, now, height=240),
        chart_reasons=charts.bars(list(totals.items())),
        health_hours=HEALTH_HOURS,
        chart_backlog=charts.lines(backlog, since, now) if backlog else "",
        chart_lag=charts.lines(lag, since, now, unit=" s") if lag else "",
    )


def _filters(reason: str, owner: str, q: str, status: str, before: int | None) -> queue.Filters:
    return queue.Filters(reason or None, owner or None, q or None, status or "parked", before)


@router.get("/exceptions")
def exception_list(
    request: Request,
    reason: str = "",
    owner: str = "",
    q: str = "",
    status: str = "parked",
    before: Annotated[int | None, Query(ge=0, le=LARGEST)] = None,
    done: str = "",
) -> HTMLResponse:
    web = web_of(request)
    f = _filters(reason, owner, q, status, before)
    sealed = web.store.cipher is not None
    with web.store.tx() as conn:
        rows = queue.list_page(conn, f, sealed=sealed)
        total = queue.count(conn, f, sealed=sealed)
    params = {k: v for k, v in {"reason": reason, "owner": owner, "q": q, "status": status}.items() if v}
    more = urlencode({**params, "before": rows[-1].id}) if len(rows) == f.limit else ""
    partial = request.headers.get("hx-request") == "true"
    return _render(
        request,
        "_table.html" if partial else "exceptions.html",
        rows=rows,
        total=total,
        f=f,
        more=more,
        actions=queue.bulk_actions(f.reason),
        offered=queue.offered_actions,
        done=done,
    )


@router.post("/exceptions/act", dependencies=[Depends(check_csrf)])
async def exception_act(request: Request) -> Response:
    """Every action of the queue from a form: ticked `ids` (or the detail page's one), `action`, `note`;
    map-and-retry's `target`; edit-and-post's address fields (`shipping_address.postcode`, …, blank ones
    left as they are)."""
    web = web_of(request)
    user = user_of(request)
    form = await request.form()
    action = str(form.get("action", ""))
    back = _safe_next(str(form.get("back", "/exceptions")))
    try:
        ids = [int(str(v)) for v in form.getlist("ids")]
        if any(not 0 <= i <= LARGEST for i in ids):
            raise ValueError
    except ValueError as exc:
        raise HTTPException(400, "ids must be ledger ids") from exc
    if not ids:
        raise HTTPException(400, "choose at least one exception")
    changes = {
        f"{part}.{name}": str(form.get(f"{part}.{name}", "")).strip()
        for part in ("shipping_address", "billing_address")
        for name in queue.ADDRESS_FIELDS
    }
    ask = queue.Request(
        action,
        ids,
        str(form.get("note", "")),
        target=str(form.get("target", "")),
        changes={k: v for k, v in changes.items() if v},
    )
    try:
        results = queue.act(web.actions, ask, user=user)
    except queue.Forbidden as exc:
        raise HTTPException(403, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    ok = sum(r.ok for r in results)
    summary = f"{action}: {ok} of {len(results)} done" + "".join(
        f"; #{r.id} {r.error}" for r in results if not r.ok
    )
    path, _, query = back.partition("?")
    kept = [(k, v) for k, v in parse_qsl(query) if k not in ("done", "before")]  # a fresh first page
    return RedirectResponse(f"{path}?{urlencode([*kept, ('done', summary)])}", status_code=303)


def _detail_page(request: Request, ident: int, *, reveal_note: str = "", done: str = "") -> HTMLResponse:
    web = web_of(request)
    user = user_of(request)
    with web.store.tx() as conn:
        found = queue.detail(conn, ident, web.store.cipher)
        if found is not None and reveal_note:
            record_reveal(conn, found, actor=f"web:{user.name}", note=reveal_note)
            found = queue.detail(conn, ident, web.store.cipher)  # the reveal is in the audit now
    if found is None:
        raise HTTPException(404, f"no exception #{ident}")
    shown = found if reveal_note else queue.masked(found)
    if reveal_note:
        shown = {**shown, "audit": [{**e, "note": mask_text(str(e["note"]))} for e in shown["audit"]]}
    return _render(
        request,
        "detail.html",
        e=shown,
        revealed=bool(reveal_note),
        may_act=user.may_act_on(found.get("owner")),
        actions=found["actions"],
        map_kind=found["map_kind"],
        map_source=found["map_source"],
        address_fields=queue.ADDRESS_FIELDS,
        done=done,
    )


@router.get("/exceptions/{ident}")
def exception_detail(
    request: Request, ident: Annotated[int, PathParam(ge=0, le=LARGEST)], done: str = ""
) -> HTMLResponse:
    return _detail_page(request, ident, done=done)


@router.post("/exceptions/{ident}/reveal", dependencies=[Depends(check_csrf)])
async def exception_reveal(
    request: Request, ident: Annotated[int, PathParam(ge=0, le=LARGEST)]
) -> HTMLResponse:
    user = user_of(request)
    if not user.sees_personal_data:
        raise HTTPException(403, f"{user.role} may not see personal data")
    note = str((await request.form()).get("note", "")).strip()
    if not note:
        raise HTTPException(400, "say why the personal data is needed (kept in the audit trail)")
    return _detail_page(request, ident, reveal_note=note)


@router.get("/trace")
def order_trace(request: Request, q: str = "") -> HTMLResponse:
    web = web_of(request)
    user = user_of(request)
    if not user.sees_trace:
        raise HTTPException(403, f"{user.role} may not see order traces")
    traces = []
    with web.store.tx() as conn:
        for order_id in insight.find_orders(conn, q, web.store.cipher) if q else []:
            found = insight.trace(conn, order_id, web.store.cipher)
            if found:
                traces.append(found if user.sees_personal_data else insight.masked_trace(found))
    return _render(request, "trace.html", q=q, traces=traces)
