"""Who gets in and who may do what: every route is closed but /health and /login; roles; CSRF; limits."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Mount

from tests.web.conftest import login
from tests.web.rig import ids_by_key
from trueup.store import Store
from trueup.store.schema import audit, web_credentials, work
from trueup.web import auth
from trueup.web.app import Web, create_app


def _routes(routes: list[Any]) -> list[Any]:
    """Every route, including those of included routers (however this FastAPI version nests them)."""
    flat = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        flat += _routes(list(inner.routes)) if inner is not None else [route]
    return flat


def _paths(client: TestClient) -> list[tuple[str, str]]:
    found = []
    for route in _routes(client.app.routes):  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            found.append(("GET", f"{route.path}/htmx.min.js"))
            continue
        path = re.sub(r"\{[^}]+\}", "1", getattr(route, "path", ""))
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            if method != "HEAD":
                found.append((method, path))
    return found


def test_every_route_but_health_and_login_needs_a_user(client: TestClient) -> None:
    routes = _paths(client)
    assert ("GET", "/api/v1/openapi.json") in routes and ("POST", "/api/v1/exceptions/actions") in routes
    assert len(routes) > 15
    for method, path in routes:
        for accept in ("text/html", "application/json"):
            answer = client.request(method, path, headers={"accept": accept})
            if path in ("/health", "/login"):
                assert answer.status_code in (200, 403, 422), (method, path)  # open (a POST lacks its form)
                continue
            if answer.status_code == 303:
                assert answer.headers["location"].startswith("/login"), (method, path)
            else:
                assert answer.status_code == 401, (method, path, accept, answer.status_code)
    bad = client.get("/api/v1/exceptions", headers={"authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


def _token(store: Store, role: str) -> dict[str, str]:
    with store.tx() as conn:
        secret = auth.new_token(conn, role, "test", auth_now())
    assert secret
    return {"authorization": f"Bearer {secret}"}


def auth_now():  # type: ignore[no-untyped-def]
    from tests.web.rig import START

    return START


def test_a_team_acts_on_its_own_exceptions_only(client: TestClient, store: Store) -> None:
    ids = ids_by_key(store)
    warehouse_one = ids["100000001"]
    body = {"action": "retry", "ids": [warehouse_one], "note": "carrier mapped"}
    refused = client.post("/api/v1/exceptions/actions", json=body, headers=_token(store, "finance"))
    assert refused.status_code == 403
    mixed = {**body, "ids": [warehouse_one, ids["100000002"]]}
    assert (
        client.post("/api/v1/exceptions/actions", json=mixed, headers=_token(store, "warehouse")).status_code
        == 403
    )
    with store.tx() as conn:
        assert conn.execute(select(work.c.status).where(work.c.id == warehouse_one)).scalar() == "parked"
    done = client.post("/api/v1/exceptions/actions", json=body, headers=_token(store, "warehouse"))
    assert done.status_code == 200 and done.json() == [
        {
            "id": warehouse_one,
            "ok": True,
            "key": "100000001",
            "action": "retry",
            "error": None,
            "detail": None,
        }
    ]
    with store.tx() as conn:
        assert conn.execute(select(work.c.status).where(work.c.id == warehouse_one)).scalar() == "todo"
        who = conn.execute(select(audit.c.actor, audit.c.action, audit.c.note)).all()
    assert who == [("web:warehouse", "retry", "carrier mapped")]
    admin = client.post(
        "/api/v1/exceptions/actions",
        json={"action": "resolve", "ids": [ids["100000002"]], "note": "booked by hand"},
        headers=_token(store, "admin"),
    )
    assert admin.status_code == 200 and admin.json()[0]["ok"]


def test_cx_sees_a_trace_and_cannot_act_viewer_sees_no_trace(client: TestClient, store: Store) -> None:
    ids = ids_by_key(store)
    cx = _token(store, "cx")
    traced = client.get("/api/v1/trace", params={"q": "cara@example.com"}, headers=cx).json()
    assert [t["order_id"] for t in traced] == ["100000004"]
    stages = {s["stage"]: s for s in traced[0]["steps"]}
    assert stages["posted"]["erp_ref"] == "SO-4"
    assert stages["despatched"]["tracking"][0]["number"] == "TRK4"
    assert traced[0]["customer"]["email"] == "cara@example.com"  # customer service may see the customer
    by_postcode = client.get("/api/v1/trace", params={"q": "ec1a1bb"}, headers=cx).json()
    assert by_postcode[0]["order_id"] == "100000001" and by_postcode[0]["steps"][0]["open_exception"]
    act = {"action": "retry", "ids": [ids["100000001"]], "note": "x"}
    assert client.post("/api/v1/exceptions/actions", json=act, headers=cx).status_code == 403
    viewer = _token(store, "viewer")
    assert client.get("/api/v1/trace", params={"q": "100000004"}, headers=viewer).status_code == 403
    masked = client.get("/api/v1/trace", params={"q": "100000004"}, headers=_token(store, "warehouse")).json()
    assert masked[0]["customer"]["email"] == "c***@e***.com"


def test_forms_need_the_sessions_csrf_token(client: TestClient, store: Store) -> None:
    ids = ids_by_key(store)
    csrf = login(client, "warehouse")
    form = {"action": "retry", "ids": str(ids["100000001"]), "note": "mapped", "back": "/exceptions"}
    assert client.post("/exceptions/act", data=form).status_code == 403
    assert client.post("/exceptions/act", data={**form, "csrf": "forged"}).status_code == 403
    api = {"action": "retry", "ids": [ids["100000001"]], "note": "mapped"}
    assert client.post("/api/v1/exceptions/actions", json=api).status_code == 403  # cookie, no header
    done = client.post("/exceptions/act", data={**form, "csrf": csrf})
    assert done.status_code == 303 and "1+of+1+done" in done.headers["location"]
    assert client.post("/logout").status_code == 403
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    assert client.get("/exceptions", headers={"accept": "text/html"}).status_code == 303


def test_the_login_form_has_its_own_csrf_token(client: TestClient) -> None:
    client.get("/login")
    answer = client.post("/login", data={"name": "admin", "password": "admin-password-1", "csrf": "guess"})
    assert answer.status_code == 403


def test_logins_are_rate_limited(client: TestClient) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    for _ in range(5):
        wrong = client.post("/login", data={"name": "admin", "password": "nope-nope", "csrf": csrf.group(1)})
        assert wrong.status_code == 401
    right = client.post(
        "/login", data={"name": "admin", "password": "admin-password-1", "csrf": csrf.group(1)}
    )
    assert right.status_code == 429


def test_session_cookie_flags(web: Web) -> None:
    with TestClient(create_app(web), base_url="https://testserver", follow_redirects=False) as c:
        login(c, "finance")
        page = c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        answer = c.post(
            "/login", data={"name": "finance", "password": "finance-password-1", "csrf": csrf.group(1)}
        )
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie


def test_tokens_are_kept_hashed_and_die_with_their_user(client: TestClient, store: Store) -> None:
    headers = _token(store, "ecommerce")
    secret = headers["authorization"].split()[1]
    with store.tx() as conn:
        digests = list(conn.execute(select(web_credentials.c.digest)).scalars())
    assert secret not in digests and auth.digest(secret) in digests
    assert client.get("/api/v1/me", headers=headers).json()["role"] == "ecommerce"
    with store.tx() as conn:
        assert auth.disable_user(conn, "ecommerce")
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_metrics_take_a_token_and_count_exceptions_by_reason_and_owner(
    client: TestClient, store: Store
) -> None:
    login(client, "admin")
    assert client.get("/metrics").status_code == 401  # a browser session is not a scraper
    client.cookies.clear()
    text = client.get("/metrics", headers=_token(store, "viewer")).text
    assert 'trueup_exceptions_open{reason="unmapped_carrier",owner="warehouse"} 1' in text
    assert 'trueup_flow_backlog{flow="order.post"} 0' in text
    assert "trueup_flow_lag_seconds" in text and 'trueup_flow_done_total{flow="despatch.ship"} 1' in text


def test_pages_render_for_each_role(client: TestClient, store: Store) -> None:
    ids = ids_by_key(store)
    for role in auth.ROLES:
        client.cookies.clear()
        login(client, role)
        assert client.get("/").status_code == 200
        listing = client.get("/exceptions", params={"q": "100000001"})
        assert "unmapped_carrier" in listing.text and "100000002" not in listing.text
        detail = client.get(f"/exceptions/{ids['100000001']}")
        assert detail.status_code == 200 and "wendy@example.com" not in detail.text  # masked
        assert ("Resolution:" in detail.text) and ('value="retry"' in detail.text) == (
            role in ("admin", "warehouse")
        )
        trace = client.get("/trace", params={"q": "100000004"})
        assert trace.status_code == (403 if role == "viewer" else 200)


def test_revealing_personal_data_is_for_admin_and_cx_and_audited(client: TestClient, store: Store) -> None:
    ident = ids_by_key(store)["100000001"]
    csrf = login(client, "warehouse")
    refused = client.post(f"/exceptions/{ident}/reveal", data={"csrf": csrf, "note": "curious"})
    assert refused.status_code == 403
    client.cookies.clear()
    csrf = login(client, "cx")
    assert client.post(f"/exceptions/{ident}/reveal", data={"csrf": csrf, "note": ""}).status_code == 400
    shown = client.post(f"/exceptions/{ident}/reveal", data={"csrf": csrf, "note": "customer on the phone"})
    assert shown.status_code == 200 and "wendy@example.com" in shown.text
    with store.tx() as conn:
        rows = conn.execute(select(audit.c.actor, audit.c.action, audit.c.note)).all()
    assert rows == [("web:cx", "reveal", "customer on the phone")]
    again = client.get(f"/exceptions/{ident}")
    assert "wendy@example.com" not in again.text  # masked again on the next visit


def test_out_of_range_ids_are_refused_not_a_server_error(client: TestClient) -> None:
    csrf = login(client, "admin")
    huge = str(2**70)
    assert client.get(f"/exceptions/{huge}").status_code == 422
    assert client.get("/exceptions", params={"before": huge}).status_code == 422
    answer = client.post("/exceptions/act", data={"csrf": csrf, "ids": huge, "action": "retry", "note": "x"})
    assert answer.status_code == 400
