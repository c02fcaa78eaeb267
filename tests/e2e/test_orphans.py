"""The orphan sweep through the CLI: ledger rows and links removed behind the engine's back (direct SQL on
the SQLite file), rows left stuck, and ERP orders deleted in the ERP, each found, repaired where it is
trueup's to repair, posted exactly once, and cleared on the next sweep once linked."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.e2e.conftest import TRUEUP, cli_env, trueup, write_config
from trueup.config import dump_toml
from trueup.model.money import to_decimal, to_minor
from trueup.sandbox.rest_erp_sandbox import RestErpSandbox
from trueup.sandbox.world import World, utcnow


def _config(tmp_path: Path, world: World, **orphans: Any) -> Path:
    path = write_config(tmp_path / "trueup.toml", world)
    data = tomllib.loads(path.read_text())
    data["checks"] = {"orphans": {"verify_in_erp": "off", **orphans}}
    path.write_text(dump_toml(data), encoding="utf-8")
    return path


def _db(config: Path) -> sqlite3.Connection:
    return sqlite3.connect(config.parent / "trueup.db")


def _posted_long_ago(world: World, n: int) -> list[dict[str, Any]]:
    """Orders the scenario posts, last updated well past the 30-minute SLA."""
    cutoff = (utcnow() - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    posts = {k for k, v in world.scenario.expected.items() if v == "post"}
    chosen = [o for o in world.magento if o["increment_id"] in posts and o["updated_at"] < cutoff]
    assert len(chosen) >= n
    return chosen[:n]


def _forget_in_erp(world: World, key: str) -> None:
    """Delete the order's sales order in the ERP, as a person in the ERP's back office might."""
    assert isinstance(world.erp, RestErpSandbox)
    state = world.erp.state
    for sales_order_id in state.by_external_id.pop(key):
        del state.sales_orders[sales_order_id]


def _check(config: Path, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    result = trueup("check", "orders", "--json", "-c", str(config), env=env)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout)


def _sync(config: Path, env: dict[str, str]) -> None:
    result = trueup("sync", "orders", "--once", "-c", str(config), env=env)
    assert result.returncode == 0, result.stderr[-3000:]


def test_orders_removed_from_the_ledger_are_found_repaired_posted_once_and_cleared(
    tmp_path: Path, small_world: World
) -> None:
    env = cli_env(small_world)
    config = _config(tmp_path, small_world)
    _sync(config, env)
    clean_code, clean = _check(config, env)
    assert clean_code == 0 and clean["found"] == 0 and clean["orders"] == len(small_world.magento)

    chosen = _posted_long_ago(small_world, 6)
    never_posted = [o["increment_id"] for o in chosen[:3]]  # trueup lost them before they reached the ERP
    already_in_erp = chosen[3]["increment_id"]  # lost by trueup after posting: the ERP must not get two
    stale = [o["increment_id"] for o in chosen[4:]]  # stuck retrying on an old version, past the SLA
    with _db(config) as db:
        for key in [*never_posted, already_in_erp]:
            db.execute("DELETE FROM work WHERE kind = 'order.post' AND key = ?", (key,))
            db.execute("DELETE FROM links WHERE kind = 'order' AND external_id = ?", (key,))
        for key in stale:
            db.execute(
                "UPDATE work SET status = 'retrying', source_version = '2000-01-01 00:00:00', "
                "next_at = '2999-01-01 00:00:00' WHERE kind = 'order.post' AND key = ?",
                (key,),
            )
            db.execute("DELETE FROM links WHERE kind = 'order' AND external_id = ?", (key,))
    for key in never_posted:
        _forget_in_erp(small_world, key)

    code, found = _check(config, env)
    orphans = sorted([*never_posted, already_in_erp, *stale])
    assert code == 1
    assert found["found"] == found["orphaned"] == found["repaired"] == len(orphans)
    assert sorted(f["key"] for f in found["findings"]) == orphans
    totals = {o["increment_id"]: to_decimal(o["grand_total"]) for o in chosen}
    for f in found["findings"]:
        assert f["reason"] == "orphaned_order" and f["repaired"] and f["system"] == "trueup"
        assert f["impact_minor"] == to_minor(totals[f["key"]]) and f["impact_minor"] > 0
        assert "Repaired:" in f["message"] and "Resolution:" in f["message"]
    listed = json.loads(
        trueup(
            "exceptions", "list", "--reason", "orphaned_order", "--json", "-c", str(config), env=env
        ).stdout
    )
    assert sorted(row["key"] for row in listed) == orphans
    assert all(row["owner"] == "ecommerce" and row["kind"] == "check.orphaned_order" for row in listed)

    # A second sweep before posting neither repairs twice nor files a second row per order.
    code, again = _check(config, env)
    assert code == 1 and again["repaired"] == 0 and again["found"] == len(orphans)
    with _db(config) as db:
        rows = db.execute("SELECT count(*) FROM work WHERE kind = 'check.orphaned_order'").fetchone()
    assert rows == (len(orphans),)

    _sync(config, env)
    counts = small_world.erp_order_counts()
    should_post = {k for k, v in small_world.scenario.expected.items() if v == "post"}
    assert should_post <= set(counts)
    assert set(counts.values()) == {1}  # every order posted exactly once, the lost ones included

    code, cleared = _check(config, env)
    assert code == 0 and cleared["found"] == 0 and cleared["cleared"] == len(orphans)
    with _db(config) as db:
        statuses = db.execute(
            "SELECT DISTINCT status FROM work WHERE kind = 'check.orphaned_order'"
        ).fetchall()
        audit = db.execute(
            "SELECT key, actor, action FROM audit WHERE kind = 'check.orphaned_order' ORDER BY id"
        ).fetchall()
    assert statuses == [("resolved",)]
    assert sorted(k for k, actor, action in audit if (actor, action) == ("engine", "found")) == orphans
    assert sorted(k for k, actor, action in audit if (actor, action) == ("engine", "clear")) == orphans


def test_an_order_newer_than_observation_or_the_sla_is_not_an_orphan(
    tmp_path: Path, small_world: World
) -> None:
    env = cli_env(small_world)
    config = _config(tmp_path, small_world, sla_minutes=24 * 60)
    _sync(config, env)
    key = _posted_long_ago(small_world, 1)[0]["increment_id"]
    with _db(config) as db:
        db.execute("DELETE FROM work WHERE kind = 'order.post' AND key = ?", (key,))
        db.execute("DELETE FROM links WHERE kind = 'order' AND external_id = ?", (key,))
    code, result = _check(config, env)  # placed today: within a one-day SLA, observation may yet see it
    assert code == 0 and result["found"] == 0 and result["repaired"] == 0
    with _db(config) as db:
        db.execute("DELETE FROM cursors")  # observation has read nothing: nothing is its miss yet
    code, result = _check(_config(tmp_path, small_world), env)
    assert code == 0 and result["found"] == 0


def test_a_linked_order_the_erp_lost_is_found_not_resent_until_a_person_retries(
    tmp_path: Path, small_world: World
) -> None:
    env = cli_env(small_world)
    config = _config(tmp_path, small_world, verify_in_erp="all")
    _sync(config, env)
    lost = sorted(o["increment_id"] for o in _posted_long_ago(small_world, 2))
    for key in lost:
        _forget_in_erp(small_world, key)

    code, found = _check(config, env)
    assert code == 1 and found["missing_in_erp"] == found["found"] == 2 and found["repaired"] == 0
    assert sorted(f["key"] for f in found["findings"]) == lost
    assert all(f["system"] == "erp" and not f["repaired"] for f in found["findings"])
    assert found["verified"] == sum(small_world.erp_order_counts().values()) + len(lost)
    _sync(config, env)
    assert not set(lost) & set(small_world.erp_order_counts())  # a person decides; nothing re-sent

    retried = trueup(
        "exceptions", "retry", "--reason", "missing_in_erp", "-m", "ERP lost them", "--actor", "ops1",
        "-c", str(config), env=env,
    )  # fmt: skip
    assert retried.returncode == 0, retried.stderr
    code, resent = _check(config, env)  # the sweep sends what a person retried
    assert resent["resent"] == 2
    _sync(config, env)
    counts = small_world.erp_order_counts()
    assert all(counts[key] == 1 for key in lost) and set(counts.values()) == {1}
    code, clean = _check(config, env)
    assert code == 0 and clean["found"] == 0
    with _db(config) as db:
        actions = db.execute(
            "SELECT actor, action FROM audit WHERE kind = 'check.missing_in_erp' ORDER BY id"
        ).fetchall()
    assert actions.count(("engine", "resend")) == 2


def test_check_orders_is_part_of_the_documented_exit_codes(tmp_path: Path, small_world: World) -> None:
    env = cli_env(small_world)
    config = _config(tmp_path, small_world)
    _sync(config, env)
    result = trueup("check", "orders", "-c", str(config), env=env)
    assert result.returncode == 0 and "found 0" in result.stderr
    assert trueup("check", "stock", "-c", str(config), env=env).returncode == 2


def test_trueup_run_sweeps_on_its_own_schedule_and_posts_what_observation_missed(
    tmp_path: Path, small_world: World
) -> None:
    env = cli_env(small_world)
    config = _config(tmp_path, small_world)
    _sync(config, env)
    lost = _posted_long_ago(small_world, 1)[0]["increment_id"]
    with _db(config) as db:  # older than observation's overlap: only the sweep can bring it back
        db.execute("DELETE FROM work WHERE kind = 'order.post' AND key = ?", (lost,))
        db.execute("DELETE FROM links WHERE kind = 'order' AND external_id = ?", (lost,))
    _forget_in_erp(small_world, lost)
    proc = subprocess.Popen(
        [*TRUEUP, "run", "--progress", "jsonl", "-c", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    swept = ""
    for line in proc.stdout:  # the engine's own events are the clock: no sleeping here
        event = json.loads(line)
        if event["event"] == "synced" and event["task"] == "orphan sweep":
            swept = str(event["result"])
        if swept and ("repaired=1" not in swept or (event["event"] == "batch" and int(event.get("done", 0)))):
            break  # posted what the sweep repaired (or the sweep repaired nothing: fail below, not hang)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    assert "orphaned=1" in swept and "repaired=1" in swept
    counts = small_world.erp_order_counts()
    assert counts[lost] == 1 and set(counts.values()) == {1}
