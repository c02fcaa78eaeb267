"""Order payloads encrypted at rest in the ledger, read back transparently, plaintext rows still readable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import FakeClock
from trueup.errors import Fatal
from trueup.model.work import NewWork
from trueup.security.crypto import PayloadCipher, load_cipher, new_key
from trueup.store import Store
from trueup.store.exceptions import show
from trueup.store.schema import work

PAYLOAD = '{"order_id": "000000042", "customer": {"email": "ann@example.co.uk"}}'


def row(key: str) -> NewWork:
    return NewWork("order.post", key, "orders", f"order:{key}", PAYLOAD, "v1")


def stored(store: Store) -> dict[str, str]:
    with store.tx() as conn:
        return {k: p for k, p in conn.execute(select(work.c.key, work.c.payload))}


@pytest.fixture
def url(db_url: str) -> Iterator[str]:
    yield db_url


def test_payloads_are_stored_encrypted_and_claimed_in_plaintext(url: str, clock: FakeClock) -> None:
    store = Store(url, cipher=PayloadCipher(new_key()))
    store.enqueue([row("A")], clock.now())
    raw = stored(store)["A"]
    assert raw.startswith("fernet:") and "ann@example.co.uk" not in raw
    jobs = store.claim("orders", "w1", 10, clock.now(), timedelta(minutes=5))
    assert [j.payload for j in jobs] == [PAYLOAD]
    with store.tx() as conn:
        found = show(conn, "A", store.cipher)
    assert found is not None and found["payload"]["customer"]["email"] == "ann@example.co.uk"
    store.close()


def test_plaintext_rows_from_before_the_key_stay_readable(url: str, clock: FakeClock) -> None:
    Store(url).enqueue([row("OLD")], clock.now())
    store = Store(url, cipher=PayloadCipher(new_key()))
    store.enqueue([row("NEW")], clock.now())
    assert not stored(store)["OLD"].startswith("fernet:")
    jobs = store.claim("orders", "w1", 10, clock.now(), timedelta(minutes=5))
    assert {j.key: j.payload for j in jobs} == {"OLD": PAYLOAD, "NEW": PAYLOAD}
    store.close()


def test_a_rolled_key_still_reads_rows_sealed_with_the_old_one(tmp_path: object, clock: FakeClock) -> None:
    old, new = new_key(), new_key()
    url = f"sqlite:///{tmp_path}/t.db"
    Store(url, cipher=PayloadCipher(old)).enqueue([row("A")], clock.now())
    store = Store(url, cipher=PayloadCipher(f"{new},{old}"))
    assert store.claim("orders", "w1", 10, clock.now(), timedelta(minutes=5))[0].payload == PAYLOAD
    store.close()


def test_sealed_rows_without_the_key_stop_rather_than_park(tmp_path: object, clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    Store(url, cipher=PayloadCipher(new_key())).enqueue([row("A")], clock.now())
    with pytest.raises(Fatal, match="no payload key"):
        Store(url).claim("orders", "w1", 10, clock.now(), timedelta(minutes=5))
    with pytest.raises(Fatal, match="cannot be decrypted"):
        Store(url, cipher=PayloadCipher(new_key())).claim("orders", "w1", 10, clock.now(), timedelta(0))


def test_the_key_comes_from_the_environment_or_a_file(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_PAYLOAD_KEY", raising=False)
    assert load_cipher("TEST_PAYLOAD_KEY") is None
    key_file = f"{tmp_path}/key"
    with open(key_file, "w") as f:
        f.write(new_key() + "\n")
    assert load_cipher("TEST_PAYLOAD_KEY", key_file) is not None
    monkeypatch.setenv("TEST_PAYLOAD_KEY", "not-a-key")
    with pytest.raises(Fatal, match="not a valid Fernet key") as caught:
        load_cipher("TEST_PAYLOAD_KEY")
    assert "not-a-key" not in str(caught.value)


def test_a_database_error_never_quotes_the_payload(tmp_path: object, clock: FakeClock) -> None:
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    store = Store(f"sqlite:///{tmp_path}/t.db")
    store.enqueue([row("A")], clock.now())
    values = {"kind": "order.post", "key": "A", "lane": "orders", "lock": "x", "payload": PAYLOAD,
              "source_version": "", "status": "todo", "attempts": 0, "next_at": clock.now(),
              "impact_minor": 0, "created_at": clock.now(), "updated_at": clock.now()}  # fmt: skip
    with pytest.raises(IntegrityError) as caught, store.tx() as conn:
        conn.execute(insert(work).values(**values))
    assert "ann@example.co.uk" not in str(caught.value)
