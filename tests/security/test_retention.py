"""Purge after the retention and the right to erasure: personal data goes, the books stay."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from tests.conftest import FakeClock
from trueup.connectors.magento.mapping import to_order
from trueup.model.orders import Order
from trueup.model.work import Done, NewWork
from trueup.sandbox.world import trading_day
from trueup.security.crypto import PayloadCipher, new_key
from trueup.security.retention import email_hash, erase, purge
from trueup.store import Store
from trueup.store.schema import audit, links, work
from trueup.store.state import add_audit

LEASE = timedelta(minutes=5)


def order(key: str, email: str) -> NewWork:
    """A real canonical order (from the sandbox's scenario) for the customer with `email`."""
    raw = next(o for o in trading_day(3, 20).orders if o.get("billing_address") and o.get("items"))
    address = {**raw["billing_address"], "firstname": "Ann", "lastname": "Smith", "email": email,
               "street": ["10 Downing Street"], "postcode": "SW1A 2AA", "telephone": "020 7946 0958",
               "country_id": "GB"}  # fmt: skip
    raw = {**raw, "increment_id": key, "customer_email": email, "customer_firstname": "Ann",
           "customer_lastname": "Smith", "billing_address": address, "grand_total": "22.00"}  # fmt: skip
    raw.pop("extension_attributes", None)
    return NewWork(
        "order.post", key, "orders", f"order:{key}", to_order(raw, "magento").model_dump_json(), "v1"
    )


def post_all(store: Store, clock: FakeClock) -> None:
    jobs = store.claim("orders", "w1", 100, clock.now(), LEASE)
    store.record([Done(j, f"SO-{j.key}", "order", "magento", "erp") for j in jobs], clock.now())


def rows(store: Store) -> dict[str, tuple[str, str, str | None]]:
    with store.tx() as conn:
        return {
            k: (s, p, r)
            for k, s, p, r in conn.execute(select(work.c.key, work.c.status, work.c.payload, work.c.result))
        }


@pytest.mark.parametrize("keyed", [False, True])
def test_purge_replaces_old_finished_payloads_and_keeps_the_books(
    db_url: str, clock: FakeClock, keyed: bool
) -> None:
    store = Store(db_url, cipher=PayloadCipher(new_key()) if keyed else None)
    store.enqueue([order("1", "ann@example.com"), order("2", "bob@example.com")], clock.now())
    post_all(store, clock)
    clock.advance(31 * 86400)
    store.enqueue([order("3", "cat@example.com")], clock.now())  # recent and still to do: kept
    with store.tx() as conn:
        assert purge(conn, clock.now(), timedelta(days=30), actor="t", dry_run=True) == 2
        assert purge(conn, clock.now(), timedelta(days=30), actor="t") == 2
        assert purge(conn, clock.now(), timedelta(days=30), actor="t") == 0  # never twice
    after = rows(store)
    assert json.loads(after["1"][1])["purged"] == "retention" and "ann@" not in after["1"][1]
    assert after["1"][0] == "done" and after["1"][2] == "SO-1"
    assert "cat@example.com" in store.claim("orders", "w1", 10, clock.now(), LEASE)[0].payload
    with store.tx() as conn:
        assert len(list(conn.execute(select(links)))) == 2
        actions = [a for (a,) in conn.execute(select(audit.c.action))]
    assert actions.count("purge") == 2  # each run is audited, even one with nothing left; a dry run is not
    store.close()


def test_erasure_removes_one_customer_everywhere_and_audits_a_hash(
    tmp_path: object, clock: FakeClock
) -> None:
    cipher = PayloadCipher(new_key())
    store = Store(f"sqlite:///{tmp_path}/t.db", cipher=cipher)
    store.enqueue([order("1", "Ann@Example.com"), order("2", "bob@example.com")], clock.now())
    post_all(store, clock)
    store.enqueue([order("3", "ann@example.com")], clock.now())  # still to do: left, and said so
    with store.tx() as conn:
        add_audit(conn, at=clock.now(), actor="t", action="note", kind="order.post", key="1",
                  note="customer ann@example.com rang")  # fmt: skip
        done = erase(conn, "ann@example.com", cipher, clock.now(), actor="dpo", note="ticket 7")
    assert done.erased == ["1"] and done.unfinished == [("3", "todo")] and done.audit_rows == 1
    with store.tx() as conn:
        payloads = {k: cipher.open(p) for k, p in conn.execute(select(work.c.key, work.c.payload))}
        trail = list(conn.execute(select(audit.c.action, audit.c.key, audit.c.note, audit.c.detail)))
    for gone in ("ann@", "Ann", "Smith", "Downing", "7946", "2AA"):
        assert gone.lower() not in payloads["1"].lower()
    assert "bob@example.com" in payloads["2"] and "ann@example.com" in payloads["3"]
    assert json.loads(payloads["1"])["grand_total"] == "22.00"
    Order.model_validate_json(payloads["2"])  # a payload of the real shape...
    with pytest.raises(
        ValidationError, match="erased"
    ):  # ...that, erased, is never posted again  # never posted again with "[erased]" for an address
        Order.model_validate_json(payloads["1"])
    assert rows(store)["1"][0] == "done" and rows(store)["1"][2] == "SO-1"
    assert all("ann@example.com" not in " ".join(map(str, t)).lower() for t in trail)
    assert ("erase", email_hash("ann@example.com")) in [(a, k) for a, k, _, _ in trail]
    store.close()
