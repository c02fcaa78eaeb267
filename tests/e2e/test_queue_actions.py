"""The exception queue as the teams work it, through the real CLI against the sandboxes: accept-and-post,
map-and-retry, edit-and-post, history that survives posting, and the CLI's answers to wrong input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.sandbox.scenario import UNMAPPED_METHOD, FaultMix
from trueup.sandbox.world import World, trading_day

NO_FAULTS = {
    "unknown_sku": 0.0,
    "inactive_sku": 0.0,
    "address_too_long": 0.0,
    "unmapped_carrier": 0.0,
    "tax_variance": 0.0,
    "malformed": 0.0,
    "pending_payment": 0.0,
}


@pytest.fixture
def faulty_world() -> Iterator[World]:
    """A small day where a tenth of the orders carry each of the faults the actions fix."""
    mix = {
        **NO_FAULTS,
        "tax_variance": 0.1,
        "unmapped_carrier": 0.1,
        "unknown_sku": 0.1,
        "address_too_long": 0.1,
    }
    world = World(trading_day(23, 80, faults=FaultMix(**mix)))
    world.start()
    yield world
    world.stop()


def _cli(config: Path, env: dict[str, str], *args: str) -> Any:
    result = trueup(*args, "-c", str(config), env=env)
    assert result.returncode == 0, result.stderr
    return result


def _json(config: Path, env: dict[str, str], *args: str) -> Any:
    return json.loads(_cli(config, env, *args, "--json").stdout)


def _setup(tmp_path: Path, world: World) -> tuple[Path, dict[str, str]]:
    env = cli_env(world)
    env.pop("TRUEUP_ACTOR", None)
    config = write_config(tmp_path / "trueup.toml", world)
    _cli(config, env, "sync", "orders", "--once")
    return config, env


def _expected(world: World, reason: str) -> list[str]:
    return sorted(k for k, v in world.scenario.expected.items() if v == reason)


def test_accept_and_post_posts_a_tax_variance_once_and_lists_it_for_finance(
    tmp_path: Path, faulty_world: World
) -> None:
    config, env = _setup(tmp_path, faulty_world)
    parked = _json(config, env, "exceptions", "list", "--reason", "tax_variance")
    assert sorted(r["key"] for r in parked) == _expected(faulty_world, "tax_variance") and len(parked) >= 2
    chosen, other = parked[0], parked[1]
    shown = _json(config, env, "exceptions", "show", f"#{chosen['id']}")
    assert shown["actions"][0] == "accept_and_post" and "storefront" in shown["resolution"]

    accepted = _json(
        config, env, "exceptions", "accept-and-post", f"#{chosen['id']}", "-m", "storefront rule is right",
        "--actor", "fin1",
    )  # fmt: skip
    assert [r["ok"] for r in accepted] == [True]
    variance = accepted[0]["detail"]["variances"][0]
    assert variance["reason"] == "tax_variance" and variance["variance"] != "0"

    _cli(config, env, "sync", "orders", "--once")
    _cli(config, env, "sync", "orders", "--once")  # a second pass re-sends nothing
    counts = faulty_world.erp_order_counts()
    assert counts.get(chosen["key"]) == 1
    assert other["key"] not in counts  # accepted for that order only
    still = _json(config, env, "exceptions", "list", "--reason", "tax_variance")
    assert other["key"] in {r["key"] for r in still} and chosen["key"] not in {r["key"] for r in still}

    listed = _json(config, env, "exceptions", "variances")
    assert [(v["key"], v["reason"], v["posted"], v["actor"]) for v in listed] == [
        (chosen["key"], "tax_variance", True, "fin1")
    ]
    assert listed[0]["erp_ref"] and listed[0]["actual"] == variance["actual"]
    as_csv = _cli(config, env, "exceptions", "variances", "--csv").stdout.splitlines()
    assert as_csv[0].startswith("id,") and chosen["key"] in as_csv[1]

    posted = _json(config, env, "exceptions", "show", chosen["key"])
    assert posted["status"] == "done" and posted["reason"] == "tax_variance"  # the reason it was held for
    assert [e["event"] for e in posted["history"]] == ["raised", "action", "cleared"]
    audit = [a for a in posted["audit"] if a["action"] == "accept_and_post"]
    assert audit[0]["actor"] == "fin1" and audit[0]["detail"]["variances"][0]["actual"] == variance["actual"]

    reconciled = trueup(
        "exceptions", "reconcile", str(listed[0]["id"]), "-m", "journal 4411", "--actor", "fin2",
        "-c", str(config), env=env,
    )  # fmt: skip
    assert reconciled.returncode == 0, reconciled.stderr
    assert _json(config, env, "exceptions", "variances") == []
    assert _json(config, env, "exceptions", "variances", "--status", "all")[0]["reconciled_by"] == "fin2"


def test_map_and_retry_a_carrier_unblocks_every_order_that_used_it_and_history_survives_posting(
    tmp_path: Path, faulty_world: World
) -> None:
    config, env = _setup(tmp_path, faulty_world)
    expected = _expected(faulty_world, "unmapped_carrier")
    parked = _json(config, env, "exceptions", "list", "--reason", "unmapped_carrier")
    assert sorted(r["key"] for r in parked) == expected and len(expected) >= 2
    env_with_actor = {**env, "TRUEUP_ACTOR": "wh1"}  # the actor may come from the environment

    mapped = _json(
        config, env_with_actor, "exceptions", "map-and-retry", f"#{parked[0]['id']}", "--to", "DPD/SAMEDAY",
        "-m", "same-day is DPD's",
    )  # fmt: skip
    assert sorted(r["key"] for r in mapped) == expected and all(r["ok"] for r in mapped)
    assert mapped[0]["detail"]["mapping"] == {
        "kind": "carrier",
        "source": UNMAPPED_METHOD,
        "target": "DPD/SAMEDAY",
    }

    _cli(config, env, "sync", "orders", "--once")
    counts = faulty_world.erp_order_counts()
    assert all(counts.get(key) == 1 for key in expected)
    assert _json(config, env, "exceptions", "list", "--reason", "unmapped_carrier") == []
    cleared = _json(config, env, "exceptions", "list", "--status", "cleared", "--reason", "unmapped_carrier")
    assert sorted(r["key"] for r in cleared) == expected
    shown = _json(config, env, "exceptions", "show", expected[-1])
    history = [(e["event"], e["actor"], e["action"] or e["reason"]) for e in shown["history"]]
    assert history == [
        ("raised", "engine", "unmapped_carrier"),
        ("action", "wh1", "map_and_retry"),
        ("cleared", "engine", None),
    ]


def test_map_and_retry_a_sku_and_edit_and_post_an_address(tmp_path: Path, faulty_world: World) -> None:
    config, env = _setup(tmp_path, faulty_world)
    unknown = _json(config, env, "exceptions", "list", "--reason", "unknown_sku")
    assert unknown
    erp_sku = next(i["sku"] for i in faulty_world.scenario.erp_items if i.get("active", True))
    mapped = _json(
        config, env, "exceptions", "map-and-retry", unknown[0]["key"], "--to", erp_sku,
        "-m", "web-only is this", "--actor", "ec1",
    )  # fmt: skip
    source = mapped[0]["detail"]["mapping"]["source"]
    orders = faulty_world.scenario.orders
    using = {o["increment_id"] for o in orders if source in json.dumps(o["items"], default=str)}
    assert {r["key"] for r in mapped} == using & {r["key"] for r in unknown}

    long = _json(config, env, "exceptions", "list", "--reason", "address_too_long")[0]
    part = long["field"].split(".")[0]
    edited = _json(
        config, env, "exceptions", "edit-and-post", f"#{long['id']}",
        "--set", f"{part}.street=1 High St|Flat 2", "-m", "customer confirmed a short form", "--actor", "ec1",
    )  # fmt: skip
    assert edited[0]["ok"] and edited[0]["detail"] == {"changed": [f"{part}.street"]}
    _cli(config, env, "sync", "orders", "--once")
    counts = faulty_world.erp_order_counts()
    assert all(counts.get(r["key"]) == 1 for r in mapped)
    assert counts.get(long["key"]) == 1
    audit = _json(config, env, "exceptions", "show", long["key"])["audit"]
    assert "High St" not in json.dumps(audit)  # the values are personal data: only the fields are named


def test_a_retried_exception_can_be_resolved_and_ids_named_twice_are_acted_on_once(
    tmp_path: Path, faulty_world: World
) -> None:
    config, env = _setup(tmp_path, faulty_world)
    parked = _json(config, env, "exceptions", "list", "--reason", "unknown_sku")
    first = parked[0]
    retried = _json(
        config, env, "exceptions", "retry", f"#{first['id']}", first["key"], "--reason", "unknown_sku",
        "-m", "item created", "--actor", "ec1",
    )  # fmt: skip
    assert sorted(r["id"] for r in retried) == sorted(r["id"] for r in parked)  # each once
    resolved = _json(
        config, env, "exceptions", "resolve", f"#{first['id']}", "-m", "keyed by hand", "--actor", "ec2"
    )
    assert resolved[0]["ok"]
    shown = _json(config, env, "exceptions", "show", f"#{first['id']}")
    assert shown["status"] == "resolved"
    assert [(e["event"], e["action"]) for e in shown["history"]][-2:] == [
        ("action", "retry"),
        ("action", "resolve"),
    ]
    all_rows = _json(config, env, "exceptions", "list", "--status", "all", "--limit", "1000")
    assert first["id"] in {r["id"] for r in all_rows}


def test_the_cli_refuses_wrong_input_clearly(tmp_path: Path, faulty_world: World) -> None:
    config, env = _setup(tmp_path, faulty_world)

    def refused(*args: str) -> str:
        result = trueup(*args, "-c", str(config), env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return " ".join(result.stderr.split())

    assert "no exception '#99999'" in refused("exceptions", "show", "#99999")
    assert "unknown reason 'bogus'" in refused("exceptions", "list", "--reason", "bogus")
    assert "unknown owner" in refused("exceptions", "list", "--owner", "nobody")
    assert "--limit" in refused("exceptions", "list", "--limit", "0")
    assert "--limit" in refused("exceptions", "list", "--limit", "-3")
    assert "--status" in refused("exceptions", "list", "--status", "closed")
    assert "name the exceptions" in refused("exceptions", "retry", "-m", "x", "--actor", "a")
    assert "--actor" in refused("exceptions", "retry", "#1", "-m", "x")
    assert "no exception" in refused("exceptions", "retry", "#99999", "-m", "x", "--actor", "a")
    assert "unknown reason" in refused("exceptions", "retry", "--reason", "bogus", "-m", "x", "--actor", "a")
    assert "--orders" in " ".join(trueup("demo", "--orders", "-5", env=env).stderr.split())

    # the compact list fits 80 columns, one line per exception
    wide_env = {**env, "COLUMNS": "80"}
    listed = trueup("exceptions", "list", "-c", str(config), env=wide_env)
    count = len(_json(config, env, "exceptions", "list"))
    lines = listed.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and len(lines) == count + 3

    helped = trueup("exceptions", "list", "-h", env=env)
    assert helped.returncode == 0 and "<bool>" not in helped.stdout and "<int>" not in helped.stdout
    usage = trueup("exceptions", "show", "-h", env=env).stdout
    assert "{ident}" not in usage and "ID" in usage
    version = trueup("--version", env=env)
    assert version.returncode == 0 and version.stdout.startswith("trueup ")
