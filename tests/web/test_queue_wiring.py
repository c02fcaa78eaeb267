"""The dashboard over the queue's service (trueup.queue.QueueActions): every action from the API and the
pages, each offered exactly where the exception's reason offers it, audited as `web:<user>` and shown in
the exception's history."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.flows.test_plan_orders import make_order
from tests.web.conftest import login
from tests.web.rig import START
from trueup.model.exceptions import Reason, actions_for
from trueup.model.orders import Order
from trueup.model.work import NewWork, Problem
from trueup.queue import QueueActions
from trueup.store import Store
from trueup.store import queue as queue_store
from trueup.store.schema import work
from trueup.web import auth


def _park(store: Store, order_id: str, order: Order, reason: Reason) -> int:
    problem = Problem.of(reason, f"Order {order_id}: {reason}.", impact_minor=1595, currency="GBP")
    text = order.model_copy(update={"order_id": order_id}).model_dump_json()
    store.enqueue([NewWork("order.post", order_id, "orders", f"order:{order_id}", text, "1", problem)], START)
    with store.tx() as conn:
        return int(conn.execute(select(work.c.id).where(work.c.key == order_id)).scalar_one())


def _token(store: Store, role: str) -> dict[str, str]:
    with store.tx() as conn:
        secret = auth.new_token(conn, role, "test", START)
    return {"authorization": f"Bearer {secret}"}


def _status(store: Store, ident: int) -> str:
    with store.tx() as conn:
        return str(conn.execute(select(work.c.status).where(work.c.id == ident)).scalar_one())


@pytest.fixture
def parked(store: Store) -> dict[str, int]:
    return {
        "carrier": _park(store, "200000001", make_order(method="sameday_sameday"), Reason.UNMAPPED_CARRIER),
        "carrier2": _park(store, "200000002", make_order(method="sameday_sameday"), Reason.UNMAPPED_CARRIER),
        "tax": _park(
            store, "200000003", make_order(tax=D("2.50"), method="sameday_sameday"), Reason.TAX_VARIANCE
        ),
        "postcode": _park(store, "200000004", make_order(), Reason.INVALID_POSTCODE),
    }


def test_map_and_retry_from_the_api_maps_the_carrier_and_retries_all_that_used_it(
    client: TestClient, store: Store, parked: dict[str, int]
) -> None:
    ident = parked["carrier"]
    body = {"action": "map_and_retry", "ids": [ident], "note": "same-day is DPD", "target": "DPD/SAMEDAY"}
    assert (
        client.post("/api/v1/exceptions/actions", json=body, headers=_token(store, "finance")).status_code
        == 403
    )
    assert (
        client.post("/api/v1/exceptions/actions", json=body, headers=_token(store, "cx")).status_code == 403
    )
    bad = client.post(
        "/api/v1/exceptions/actions", json={**body, "target": "DPD"}, headers=_token(store, "warehouse")
    )
    assert bad.status_code == 400 and "CARRIER/SERVICE" in bad.json()["detail"]
    two = client.post(
        "/api/v1/exceptions/actions", json={**body, "ids": [ident, parked["carrier2"]]},
        headers=_token(store, "warehouse"),
    )  # fmt: skip
    assert two.status_code == 400  # one at a time

    done = client.post("/api/v1/exceptions/actions", json=body, headers=_token(store, "warehouse"))
    assert done.status_code == 200, done.text
    results = done.json()
    assert [(r["id"], r["ok"], r["action"]) for r in results] == [
        (ident, True, "map_and_retry"),
        (parked["carrier2"], True, "map_and_retry"),
    ]
    assert results[0]["detail"]["mapping"] == {
        "kind": "carrier",
        "source": "sameday_sameday",
        "target": "DPD/SAMEDAY",
    }
    assert _status(store, ident) == _status(store, parked["carrier2"]) == "todo"
    assert _status(store, parked["tax"]) == "parked"  # finance's, same method: a mapping does not touch it
    with store.tx() as conn:
        assert queue_store.mappings(conn)["carrier"] == {"sameday_sameday": "DPD/SAMEDAY"}

    shown = client.get(f"/api/v1/exceptions/{ident}", headers=_token(store, "cx")).json()
    assert [(h["event"], h["actor"], h["action"], h["note"][:32]) for h in shown["history"]] == [
        ("raised", "engine", "", "Order 200000001: unmapped_carrie"),
        ("action", "web:warehouse", "map_and_retry", "same-day is DPD"),
    ]
    assert shown["actions"] == [str(a) for a in actions_for("unmapped_carrier")]


def test_accept_and_post_and_edit_and_post_from_the_api(
    client: TestClient, store: Store, parked: dict[str, int]
) -> None:
    tax = {"action": "accept_and_post", "ids": [parked["tax"]], "note": "storefront's VAT stands"}
    assert (
        client.post("/api/v1/exceptions/actions", json=tax, headers=_token(store, "warehouse")).status_code
        == 403
    )
    done = client.post("/api/v1/exceptions/actions", json=tax, headers=_token(store, "finance"))
    assert done.status_code == 200 and done.json()[0]["ok"], done.text
    assert done.json()[0]["detail"]["variances"]
    assert {v["key"] for v in QueueActions(store).variances()} == {"200000003"}
    # accept-and-post is not offered for an unmapped carrier: refused for that row, nothing done
    wrong = {**tax, "ids": [parked["carrier"]]}
    refused = client.post("/api/v1/exceptions/actions", json=wrong, headers=_token(store, "warehouse")).json()
    assert refused[0]["ok"] is False and "not offered" in refused[0]["error"]
    assert _status(store, parked["carrier"]) == "parked"

    edit = {
        "action": "edit_and_post",
        "ids": [parked["postcode"]],
        "note": "customer confirmed the postcode",
        "shipping_address": {"postcode": "LS1 4AQ"},
    }
    answer = client.post("/api/v1/exceptions/actions", json=edit, headers=_token(store, "ecommerce"))
    assert answer.status_code == 200 and answer.json()[0]["ok"], answer.text
    assert answer.json()[0]["detail"] == {"changed": ["shipping_address.postcode"]}
    assert _status(store, parked["postcode"]) == "todo"
    nothing = client.post(
        "/api/v1/exceptions/actions",
        json={**edit, "shipping_address": None},
        headers=_token(store, "ecommerce"),
    )
    assert nothing.status_code == 400


def test_the_actions_offered_are_the_reasons_own(
    client: TestClient, store: Store, parked: dict[str, int]
) -> None:
    headers = _token(store, "viewer")
    assert client.get("/api/v1/actions", headers=headers).json() == [
        "retry", "accept_and_post", "map_and_retry", "edit_and_post", "resolve", "ignore"
    ]  # fmt: skip
    for reason in ("unmapped_carrier", "tax_variance", "invalid_postcode", "unknown_sku"):
        offered = client.get(f"/api/v1/actions?reason={reason}", headers=headers).json()
        assert offered == [str(a) for a in actions_for(reason)]

    login(client, "warehouse")
    page = client.get(f"/exceptions/{parked['carrier']}").text
    buttons = re.findall(r'name="action" value="([a-z_]+)"', page)
    assert buttons == [str(a) for a in actions_for("unmapped_carrier") if a != "map_and_retry"] + [
        "map_and_retry"
    ]
    assert 'id="map"' in page and "sameday_sameday" in page and 'id="edit"' not in page
    listed = client.get("/exceptions?reason=tax_variance").text
    assert re.findall(r'name="action" value="([a-z_]+)"', listed) == [
        str(a) for a in actions_for("tax_variance")
    ]


def test_map_and_retry_from_the_detail_page_shows_who_in_the_history(
    client: TestClient, store: Store, parked: dict[str, int]
) -> None:
    csrf = login(client, "warehouse")
    ident = parked["carrier"]
    form = {"csrf": csrf, "ids": str(ident), "action": "map_and_retry", "target": "DPD/SAMEDAY",
            "note": "same-day is DPD", "back": f"/exceptions/{ident}"}  # fmt: skip
    done = client.post("/exceptions/act", data=form)
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    assert "map_and_retry: 2 of 2 done" in page
    history = page[page.index('id="history"') :]
    assert "raised" in history and "web:warehouse" in history and "same-day is DPD" in history
    assert _status(store, ident) == "todo"

    csrf = login(client, "ecommerce")
    edit = {"csrf": csrf, "ids": str(parked["postcode"]), "action": "edit_and_post",
            "shipping_address.postcode": "LS1 4AQ", "shipping_address.city": "", "note": "confirmed",
            "back": "/exceptions"}  # fmt: skip
    assert client.post("/exceptions/act", data=edit).status_code == 303
    assert _status(store, parked["postcode"]) == "todo"
