"""Alerts over real channels on loopback: an SMTP server (aiosmtpd), and an HTTP receiver for Slack and
the signed webhook. The alert task is driven pass by pass with an injected clock: nothing sleeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from tests.alerts.helpers import SECRET, Receiver, config, park, serving
from tests.conftest import FakeClock
from trueup.alerts import outbox
from trueup.alerts.task import AlertTask
from trueup.errors import ConfigProblems
from trueup.model.exceptions import Reason
from trueup.model.work import Status
from trueup.sandbox.smtp import SmtpSink
from trueup.store import Store
from trueup.store.schema import alerts, work


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def _rows(store: Store) -> list[tuple[str, str, str, str]]:
    with store.tx() as conn:
        query = select(alerts.c.channel, alerts.c.reason, alerts.c.key, alerts.c.status)
        return [tuple(r) for r in conn.execute(query.order_by(alerts.c.id))]  # type: ignore[misc]


async def test_a_burst_of_500_gives_one_alert_and_one_digest_over_real_smtp(
    sqlite_url: str, clock: FakeClock, sink: SmtpSink
) -> None:
    store = Store(sqlite_url)
    park(store, clock, [f"{100000 + n}" for n in range(500)])
    task = AlertTask(store, config({"finance": {"email": ["finance@shop.test"]}}, sink.config()), clock)

    first = await task.sync()

    assert first.queued == 500 and first.sent == {"email": 1 + 1}
    assert (first.alerts, first.digests) == (1, 1)
    alert, digest = sink.messages
    assert sink.recipients == [["finance@shop.test"], ["finance@shop.test"]]
    assert alert["Subject"] == "[trueup] finance: tax_variance on order 100000"
    body = alert.get_content()
    assert "Resolution: " in body and "After fixing the cause: trueup exceptions retry '#1'" in body
    # a tax variance offers accept-and-post first (model/exceptions.py ACTIONS)
    assert "Action: If the storefront's figures are right: trueup exceptions accept-and-post '#1'" in body
    assert digest["Subject"] == "[trueup] finance: 499 more tax_variance exceptions (digest)"
    listed = digest.get_content()
    assert all(f"order {100000 + n} " in listed for n in range(1, 500)) and "order 100000 " not in listed
    assert "trueup exceptions retry --reason tax_variance" in listed
    # a second pass finds everything sent: nothing goes twice
    again = await task.sync()
    assert again.queued == 0 and not again.sent and len(sink.messages) == 2
    assert {status for *_, status in _rows(store)} == {"sent"}
    store.close()


async def test_a_few_go_one_alert_each_and_a_later_burst_in_the_window_is_one_digest(
    sqlite_url: str, clock: FakeClock, sink: SmtpSink
) -> None:
    store = Store(sqlite_url)
    task = AlertTask(
        store, config({"finance": {"email": ["f@shop.test"]}}, sink.config(), burst_threshold=3), clock
    )
    park(store, clock, ["1", "2"])
    assert (await task.sync()).alerts == 2
    clock.advance(60)
    park(store, clock, ["3", "4", "5"])  # 2 sent in the window + 3 new > 3: all three in one digest
    result = await task.sync()
    assert (result.alerts, result.digests) == (0, 1)
    assert sink.subjects()[-1] == "[trueup] finance: 3 more tax_variance exceptions (digest)"
    store.close()


async def test_slack_and_a_signed_webhook_receive_the_alert_with_a_valid_hmac(
    sqlite_url: str, clock: FakeClock
) -> None:
    store = Store(sqlite_url)
    park(store, clock, ["000123"], Reason.UNMAPPED_CARRIER)  # a warehouse exception
    async with serving(Receiver()) as slack, serving(Receiver(secret=SECRET)) as hook:
        routes = {
            "warehouse": {
                "slack_url_env": "SLACK_WAREHOUSE",
                "webhook_url": f"{hook.url}/trueup",
                "webhook_secret_env": "HOOK_SECRET",
            }
        }
        env = {"SLACK_WAREHOUSE": f"{slack.url}/services/T0/B0/x", "HOOK_SECRET": SECRET}
        result = await AlertTask(store, config(routes), clock, environ=env).sync()
    assert result.sent == {"slack": 1, "webhook": 1}
    (posted,) = slack.accepted
    assert posted["path"] == "/services/T0/B0/x"
    assert "unmapped_carrier" in posted["json"]["text"] and "Resolution:" in posted["json"]["text"]
    (signed,) = hook.accepted
    assert hook.bad_signatures == 0
    assert signed["headers"]["X-Trueup-Signature"].startswith("sha256=")
    data = signed["json"]
    assert data["type"] == "alert" and data["team"] == "warehouse" and data["reason"] == "unmapped_carrier"
    assert data["exceptions"][0]["key"] == "000123" and data["resolution"] and data["action"]
    store.close()


async def test_a_forged_signature_is_refused_by_the_receivers_check(
    sqlite_url: str, clock: FakeClock
) -> None:
    store = Store(sqlite_url)
    park(store, clock, ["1"])
    async with serving(Receiver(secret=SECRET)) as hook:
        routes = {"finance": {"webhook_url": hook.url + "/x", "webhook_secret_env": "HOOK_SECRET"}}
        env = {"HOOK_SECRET": "another-secret-of-enough-length"}
        result = await AlertTask(store, config(routes), clock, environ=env).sync()
    assert hook.bad_signatures == 1 and not hook.accepted and result.failed == 1
    store.close()


async def test_a_receiver_that_fails_then_recovers_gets_the_alert_exactly_once(
    sqlite_url: str, clock: FakeClock
) -> None:
    store = Store(sqlite_url)
    park(store, clock, ["1"])
    async with serving(Receiver(fail=2, secret=SECRET)) as hook:
        routes = {"finance": {"webhook_url": hook.url + "/x", "webhook_secret_env": "HOOK_SECRET"}}
        task = AlertTask(store, config(routes, retry_base_seconds=30), clock, environ={"HOOK_SECRET": SECRET})
        assert (await task.sync()).failed == 1
        assert (await task.sync()).failed == 0 and len(hook.posts) == 1  # backing off: not tried again yet
        clock.advance(61)
        assert (await task.sync()).failed == 1
        clock.advance(121)
        assert (await task.sync()).sent == {"webhook": 1}
        clock.advance(3600)
        assert not (await task.sync()).sent
    assert len(hook.accepted) == 1 and len(hook.posts) == 3
    deliveries = {p["headers"]["X-Trueup-Delivery"] for p in hook.posts}
    assert len(deliveries) == 1  # every attempt names the same delivery
    with store.tx() as conn:
        attempts, error = conn.execute(select(alerts.c.attempts, alerts.c.last_error)).one()
    assert attempts == 3 and "503" in error
    store.close()


async def test_an_smtp_server_refusing_for_a_while_does_not_lose_the_alert(
    sqlite_url: str, clock: FakeClock, sink: SmtpSink
) -> None:
    store = Store(sqlite_url)
    park(store, clock, ["1"])
    sink.fail_next = 1
    task = AlertTask(store, config({"finance": {"email": ["f@shop.test"]}}, sink.config()), clock)
    assert (await task.sync()).failed == 1 and not sink.messages
    clock.advance(3600)
    assert (await task.sync()).sent == {"email": 1} and len(sink.messages) == 1
    store.close()


async def test_a_crash_between_send_and_record_sends_again_and_never_duplicates_a_row(
    db_url: str, clock: FakeClock, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(db_url)
    park(store, clock, ["1"])
    cfg = config({"finance": {"email": ["f@shop.test"]}}, sink.config())
    crashing = AlertTask(store, cfg, clock)

    def crash(*_: object) -> None:
        raise RuntimeError("killed between send and record")

    monkeypatch.setattr(crashing, "record_sent", crash)
    with pytest.raises(RuntimeError):
        await crashing.sync()
    assert len(sink.messages) == 1  # it went, but the outbox does not know
    restarted = AlertTask(store, cfg, clock)
    assert (await restarted.sync()).sent == {"email": 1}
    # at-least-once: the receiver has it twice, under one Message-ID it can fold on
    assert len(sink.messages) == 2 and sink.messages[0]["Message-ID"] == sink.messages[1]["Message-ID"]
    assert _rows(store) == [("email:finance", "tax_variance", "order:1", "sent")]
    # scanning everything again from scratch adds no row, and the constraint refuses a duplicate outright
    with store.tx() as conn:
        conn.execute(update(work).values(updated_at=clock.now()))
    clock.advance(1)
    assert (await restarted.sync()).queued == 0
    with pytest.raises(IntegrityError), store.tx() as conn:
        (seen,) = outbox.scan_page(conn, (clock.now().replace(year=2000), 0), 1)
        conn.execute(insert(alerts).values(**outbox.outbox_row("email:finance", seen, clock.now())))
    assert len(_rows(store)) == 1
    store.close()


async def test_dedupe_by_reason_and_key_and_a_cleared_exception_is_not_alerted(
    sqlite_url: str, clock: FakeClock, sink: SmtpSink
) -> None:
    store = Store(sqlite_url)
    task = AlertTask(store, config({"default": {"email": ["ops@shop.test"]}}, sink.config()), clock)
    park(store, clock, ["1", "2"])
    assert task.scan() == 2
    with store.tx() as conn:  # someone resolves order 2 after it was seen, before its alert went
        conn.execute(update(work).where(work.c.key == "2").values(status=Status.RESOLVED))
    result = await task.deliver()
    assert result.sent == {"email": 1} and result.cleared == 1
    # order 1 parks again with the same reason (retried, failed again): no second alert
    clock.advance(120)
    with store.tx() as conn:
        conn.execute(update(work).where(work.c.key == "1").values(updated_at=clock.now(), status="parked"))
    assert not (await task.sync()).sent and len(sink.messages) == 1
    # a different reason on the same key is a new alert
    park(store, clock, ["9"], Reason.UNKNOWN_SKU)
    assert (await task.sync()).sent == {"email": 1}
    with store.tx() as conn:
        assert conn.execute(select(func.count()).select_from(alerts)).scalar_one() == 3
    store.close()


async def test_a_team_without_a_route_is_not_alerted_and_the_first_scan_skips_old_exceptions(
    sqlite_url: str, clock: FakeClock, sink: SmtpSink
) -> None:
    store = Store(sqlite_url)
    park(store, clock, ["old"])
    clock.advance(3 * 86400)
    park(store, clock, ["new"])
    park(store, clock, ["w1"], Reason.UNMAPPED_CARRIER)  # warehouse: no route, no default
    task = AlertTask(store, config({"finance": {"email": ["f@shop.test"]}}, sink.config()), clock)
    result = await task.sync()
    assert result.sent == {"email": 1} and sink.subjects() == ["[trueup] finance: tax_variance on order new"]
    store.close()


def test_routes_are_keyed_by_known_teams_and_plain_smtp_only_to_loopback() -> None:
    from trueup.config import parse_config

    base = {"storefront": {"base_url": "https://shop.test/rest/default"}, "erp": {}}
    with pytest.raises(ConfigProblems, match="unknown team"):
        parse_config({**base, "alerts": {"routes": {"fiannce": {"email": ["a@b.c"]}}}})
    with pytest.raises(ConfigProblems, match="unencrypted"):
        parse_config({**base, "alerts": {"smtp": {"host": "mail.example.com", "security": "none"}}})
    with pytest.raises(ConfigProblems, match="e-mail"):
        parse_config({**base, "alerts": {"routes": {"finance": {"email": ["not-an-address"]}}}})
    ok = parse_config({**base, "alerts": {"routes": {"finance": {"email": ["f@shop.test"]}}}})
    assert ok.alerts.route_for("warehouse") is None and ok.alerts.route_for("finance") is not None
