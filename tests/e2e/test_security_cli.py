"""The CLI at debug level writes no secret and no customer's e-mail, phone or street, in any log line or
output; with a payload key the ledger holds ciphertext; a reveal is audited; erasure and purge work end to
end. Each command runs as a real process."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.sandbox.world import World, trading_day
from trueup.security.crypto import new_key

# The sandbox's Magento OAuth values and REST ERP token: 32 random lower-case letters and digits.
SANDBOX_SECRET = re.compile(r"(?<![a-z0-9])(?=[a-z0-9]*\d)(?=[a-z0-9]*[a-z])[a-z0-9]{32}(?![a-z0-9])")


def personal_values(orders: list[dict[str, Any]]) -> set[str]:
    """Each customer's e-mail addresses, phone numbers and street lines, as the storefront holds them."""
    values: set[str] = set()
    for order in orders:
        values.add(str(order.get("customer_email") or ""))
        for address in (order.get("billing_address") or {}, *_shipping(order)):
            values.update({str(address.get("email") or ""), str(address.get("telephone") or "")})
            values.update(str(s) for s in address.get("street") or [])
    return {v for v in values if len(v.strip()) >= 8}  # shorter ones ("Flat 2") match by chance


def _shipping(order: dict[str, Any]) -> list[dict[str, Any]]:
    assignments = (order.get("extension_attributes") or {}).get("shipping_assignments") or []
    return [a["shipping"]["address"] for a in assignments if a.get("shipping", {}).get("address")]


def leaks(text: str, personal: set[str], secrets: set[str]) -> list[str]:
    return sorted(v for v in personal | secrets if v in text)


def test_the_demo_at_debug_level_logs_no_secret_and_no_personal_data(tmp_path: Path) -> None:
    env = {**cli_env(), "TRUEUP_LOG_LEVEL": "debug"}
    demo = trueup(
        "demo", "--orders", "60", "--no-serve", "--json", "--workdir", str(tmp_path / "demo"), env=env
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    output = demo.stdout + demo.stderr
    assert " DEBUG " in demo.stderr  # debug logging was on
    summary = json.loads(demo.stdout)
    assert summary["orders"]["parked"] > 0 and summary["orders"]["posted"] > 0
    assert leaks(output, personal_values(trading_day(1, 60).orders), set()) == []
    assert SANDBOX_SECRET.findall(output) == []


def test_sync_and_the_exception_queue_at_debug_level_show_nothing_personal(
    small_world: World, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "trueup.toml", small_world)
    key = new_key()
    env = {**cli_env(small_world), "TRUEUP_LOG_LEVEL": "debug", "TRUEUP_PAYLOAD_KEY": key}
    secrets = {*small_world.env().values(), key}
    outputs = []
    synced = trueup("sync", "orders", "--once", "--progress", "jsonl", "-c", str(config), env=env)
    assert synced.returncode == 0, synced.stderr[-3000:]
    listed = trueup("exceptions", "list", "--json", "--limit", "1000", "-c", str(config), env=env)
    parked = json.loads(listed.stdout)
    reasons = {p["reason"] for p in parked}
    assert "address_too_long" in reasons  # its text used to quote the street
    outputs += [synced, listed, trueup("exceptions", "list", "-c", str(config), env=env)]
    firsts = {p["reason"]: p["key"] for p in reversed(parked)}
    for order_id in firsts.values():
        outputs.append(trueup("exceptions", "show", order_id, "-c", str(config), env=env))
        outputs.append(trueup("exceptions", "show", order_id, "--json", "-c", str(config), env=env))
    assert all(o.returncode == 0 for o in outputs), [o.stderr[-500:] for o in outputs]
    text = "".join(o.stdout + o.stderr for o in outputs)
    assert " DEBUG " in text
    assert leaks(text, personal_values(small_world.scenario.orders), secrets) == []
    shown = json.loads(outputs[-1].stdout)
    assert "***" in json.dumps(shown["payload"]["customer"])

    # At rest the payloads are ciphertext: no customer's data in the database file.
    with sqlite3.connect(tmp_path / "trueup.db") as db:
        payloads = [p for (p,) in db.execute("SELECT payload FROM work WHERE kind = 'order.post'")]
    assert payloads and all(p.startswith("fernet:") for p in payloads)

    # A reveal needs a reason, shows the order in full and is audited.
    order_id = firsts["address_too_long"]
    email = next(o["customer_email"] for o in small_world.scenario.orders if o["increment_id"] == order_id)
    refused = trueup("exceptions", "show", order_id, "--reveal", "-c", str(config), env=env)
    assert refused.returncode == 2 and "--note" in refused.stderr
    revealed = trueup(
        "exceptions", "show", order_id, "--reveal", "--json", "-m", "call the customer",
        "--actor", "ops1", "-c", str(config), env=env,
    )  # fmt: skip
    assert revealed.returncode == 0 and email in revealed.stdout
    trail = json.loads(trueup("exceptions", "show", order_id, "--json", "-c", str(config), env=env).stdout)
    assert [(a["actor"], a["action"], a["note"]) for a in trail["audit"]] == [
        ("ops1", "reveal", "call the customer")
    ]

    # Erasure: the customer is gone from the order, the order and its books are not.
    erased = trueup("erase", "--email", email, "-m", "DSAR 42", "-c", str(config), env=env)
    assert erased.returncode == 0, erased.stderr
    assert email not in erased.stdout + erased.stderr
    after = trueup(
        "exceptions",
        "show",
        order_id,
        "--reveal",
        "--json",
        "-m",
        "check erasure",
        "--actor",
        "dpo",
        "-c",
        str(config),
        env=env,
    )
    full = json.loads(after.stdout)
    assert email not in after.stdout and full["status"] == "parked" and full["key"] == order_id
    assert full["payload"]["grand_total"] and full["payload"]["customer"]["email"] == ""

    # Nothing is old enough to purge yet; a zero-day retention is refused.
    purged = trueup("purge", "--dry-run", "--json", "-c", str(config), env=env)
    assert json.loads(purged.stdout) == {"purged": 0, "dry_run": True, "older_than_days": 30}
    assert trueup("purge", "--older-than", "0d", "-c", str(config), env=env).returncode == 2


def test_check_warns_when_payloads_would_be_stored_unencrypted(small_world: World, tmp_path: Path) -> None:
    config = write_config(tmp_path / "trueup.toml", small_world)
    env = {k: v for k, v in cli_env(small_world).items() if k != "TRUEUP_PAYLOAD_KEY"}
    checked = trueup("check", "-c", str(config), env=env)
    assert checked.returncode == 0 and "TRUEUP_PAYLOAD_KEY is not set" in " ".join(checked.stderr.split())
    keyed = trueup("check", "-c", str(config), env={**env, "TRUEUP_PAYLOAD_KEY": new_key()})
    assert "TRUEUP_PAYLOAD_KEY" not in keyed.stderr


def test_trueup_run_purges_at_start_and_a_signed_webhook_wakes_it_before_its_interval(tmp_path: Path) -> None:
    import signal
    import socket
    import subprocess
    import threading
    import time
    import urllib.request

    from tests.e2e.conftest import TRUEUP
    from trueup.sandbox.scenario import FaultMix
    from trueup.web.webhooks import sign

    world = World(trading_day(23, 40, faults=FaultMix(pending_payment=0.2)))
    world.start()
    with socket.socket() as probe:  # a free port for the endpoint
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(tmp_path / "trueup.toml", world)
    config.write_text(config.read_text().replace("[flows.orders]", "[flows.orders]\ninterval_seconds = 3600"))
    secret = "webhook-secret-for-the-test-0123"
    env = {**cli_env(world), "TRUEUP_WEBHOOK_SECRET": secret}
    proc = subprocess.Popen(
        [*TRUEUP, "run", "--progress", "jsonl", "--webhooks-port", str(port), "-c", str(config)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    guard = threading.Timer(120, proc.kill)  # a failure ends the read loop instead of hanging for an hour
    guard.start()
    try:
        assert proc.stdout is not None
        observed, woken, synced = 0, False, []
        for line in proc.stdout:  # the engine's own events are the clock
            event = json.loads(line)
            if event["event"] == "synced":
                synced.append(event["task"])  # the daily purge runs once at start, then every day
            if event["event"] != "observed":
                continue
            if woken:
                break  # a second pass, long before the hour
            observed += int(event["rows"])
            if observed >= len(world.scenario.orders):
                world.capture_pending()  # something new to see, then the push that says so
                body = b'{"event": "sales_order_save_after"}'
                ts, nonce = str(int(time.time())), "nonce-e2e-0001"
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/webhooks/magento",
                    data=body,
                    method="POST",
                    headers={
                        "X-Trueup-Timestamp": ts,
                        "X-Trueup-Nonce": nonce,
                        "X-Trueup-Signature": sign(secret.encode(), ts, nonce, body),
                    },
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    assert response.status == 202
                woken = True
        else:
            raise AssertionError(f"no second observation pass: {proc.stderr.read() if proc.stderr else ''}")
        assert "retention purge" in synced
    finally:
        guard.cancel()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        world.stop()
