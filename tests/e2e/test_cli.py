"""The CLI as a person uses it: init, check, demo, sync, and the exception queue with its audit trail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.sandbox.scenario import CARRIERS, UNMAPPED_METHOD
from trueup.sandbox.world import World


def test_init_writes_a_config_that_check_accepts(tmp_path: Path) -> None:
    env = cli_env()
    assert trueup("init", str(tmp_path / "trueup.toml"), env=env).returncode == 0
    # A secret that is not set is an error, not a warning: the config cannot work without it.
    unset = trueup("check", "-c", str(tmp_path / "trueup.toml"), env=env)
    assert unset.returncode == 2
    names = (
        "TRUEUP_MAGENTO_CONSUMER_KEY",
        "TRUEUP_MAGENTO_CONSUMER_SECRET",
        "TRUEUP_MAGENTO_ACCESS_TOKEN",
        "TRUEUP_MAGENTO_ACCESS_TOKEN_SECRET",
        "TRUEUP_ERP_TOKEN",
    )
    for name in names:
        assert f"{name} is not set" in unset.stderr
    assert "TRUEUP_MAGENTO_TOKEN is" not in unset.stderr
    checked = trueup(
        "check", "-c", str(tmp_path / "trueup.toml"), env={**env, **dict.fromkeys(names, "x" * 32)}
    )
    assert checked.returncode == 0, checked.stderr
    again = trueup("init", str(tmp_path / "trueup.toml"), env=env)
    assert again.returncode == 2 and "exists" in again.stderr


def test_a_bad_config_names_the_key_the_value_and_what_is_expected(tmp_path: Path) -> None:
    config = tmp_path / "trueup.toml"
    config.write_text(
        '[storefront]\nbase_url = "http://x"\npage_size = "lots"\n[erp]\nbase_url = "http://y"\n'
    )
    result = trueup("check", "-c", str(config), env=cli_env())
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "storefront.page_size" in message and "'lots'" in message and "whole number" in message


def test_the_demo_reports_every_order_posted_or_parked_exactly_once(tmp_path: Path) -> None:
    result = trueup(
        "demo", "--orders", "500", "--seed", "1", "--no-serve", "--json", env=cli_env(), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    orders = summary["orders"]
    assert orders["generated"] == 500
    assert orders["posted"] + orders["parked"] == orders["generated"]
    assert summary["erp_sales_orders"] == orders["posted"]
    assert summary["duplicate_erp_orders"] == 0
    assert {"unknown_sku", "address_too_long", "unmapped_carrier", "tax_variance"} <= set(
        summary["exceptions_by_reason"]
    )
    assert sum(summary["exceptions_by_reason"].values()) == orders["parked"]
    assert summary["outcomes_as_expected"], summary["outcome_mismatches"]
    assert orders["payments_captured_later"] > 0 and orders["waiting"] == 0
    assert summary["orphans"] == {"found": 0, "repaired": 0}  # the sweep at the end of a clean day
    manual = Path(summary["manual"])  # the operating manual, generated from the demo's own config
    manual = manual if manual.is_absolute() else tmp_path / manual
    assert "## Flows and schedules" in manual.read_text(encoding="utf-8")
    # every team told by e-mail over the demo's real SMTP server, each alert once (docs/alerts.md)
    alerts = summary["alerts"]
    assert alerts["sent"]["email"] == alerts["alerts"] + alerts["digests"] > 0
    assert alerts["failed"] == 0 and alerts["sent_again_on_second_pass"] == 0
    assert alerts["emails_received"] == alerts["sent"]["email"] + 1  # and the daily report


def test_fixing_a_mapping_then_bulk_retrying_posts_the_parked_orders(
    tmp_path: Path, small_world: World
) -> None:
    env = cli_env(small_world)
    config = write_config(tmp_path / "trueup.toml", small_world)
    first = trueup("sync", "orders", "--once", "-c", str(config), env=env)
    assert first.returncode == 0, first.stderr
    listed = json.loads(
        trueup(
            "exceptions", "list", "--reason", "unmapped_carrier", "--json", "-c", str(config), env=env
        ).stdout
    )
    expected = sorted(k for k, v in small_world.scenario.expected.items() if v == "unmapped_carrier")
    assert sorted(row["key"] for row in listed) == expected and expected
    assert all(row["owner"] == "warehouse" and UNMAPPED_METHOD in row["detail"] for row in listed)
    assert all(row["system"] == "trueup" and row["field"] == "shipping.method" for row in listed)
    assert all("Resolution:" in row["detail"] for row in listed)

    refused = trueup("exceptions", "retry", "--reason", "unmapped_carrier", "-c", str(config), env=env)
    assert refused.returncode == 2 and "--note" in refused.stderr

    write_config(config, small_world, carriers={**CARRIERS, UNMAPPED_METHOD: "DPD/SAMEDAY"})
    retried = trueup(
        "exceptions",
        "retry",
        "--reason",
        "unmapped_carrier",
        "-m",
        "mapped same-day carrier",
        "--actor",
        "priya",
        "--json",
        "-c",
        str(config),
        env=env,
    )
    assert retried.returncode == 0, retried.stderr
    assert all(r["ok"] for r in json.loads(retried.stdout))
    second = trueup("sync", "orders", "--once", "-c", str(config), env=env)
    assert second.returncode == 0, second.stderr

    posted = small_world.erp_order_counts()
    assert all(posted.get(key) == 1 for key in expected)
    shown = json.loads(trueup("exceptions", "show", expected[0], "--json", "-c", str(config), env=env).stdout)
    assert shown["status"] == "done"
    assert [(a["actor"], a["action"], a["note"]) for a in shown["audit"]] == [
        ("priya", "retry", "mapped same-day carrier")
    ]


def test_resolve_and_ignore_close_exceptions_with_an_audited_note(tmp_path: Path, small_world: World) -> None:
    env = cli_env(small_world)
    config = write_config(tmp_path / "trueup.toml", small_world)
    assert trueup("sync", "orders", "--once", "-c", str(config), env=env).returncode == 0
    parked = json.loads(trueup("exceptions", "list", "--json", "-c", str(config), env=env).stdout)
    assert len(parked) >= 2
    first, second = parked[0]["key"], f"#{parked[1]['id']}"
    resolved = trueup(
        "exceptions",
        "resolve",
        first,
        "-m",
        "keyed into the ERP by hand",
        "--actor",
        "sam",
        "-c",
        str(config),
        env=env,
    )
    assert resolved.returncode == 0, resolved.stderr
    ignored = trueup(
        "exceptions", "ignore", second, "-m", "test order", "--actor", "sam", "-c", str(config), env=env
    )
    assert ignored.returncode == 0, ignored.stderr
    remaining = json.loads(trueup("exceptions", "list", "--json", "-c", str(config), env=env).stdout)
    assert len(remaining) == len(parked) - 2
    shown = json.loads(trueup("exceptions", "show", first, "--json", "-c", str(config), env=env).stdout)
    assert shown["status"] == "resolved"
    assert shown["audit"][-1]["note"] == "keyed into the ERP by hand" and shown["audit"][-1]["actor"] == "sam"
    # Resolving twice is refused: the row is no longer open.
    again = trueup(
        "exceptions", "resolve", first, "-m", "again", "--actor", "sam", "-c", str(config), env=env
    )
    assert again.returncode == 1 and "does not allow" in again.stderr


def test_a_wrong_erp_token_stops_the_flow_with_a_clear_error(tmp_path: Path, small_world: World) -> None:
    env = {**cli_env(small_world), **dict.fromkeys(small_world.erp.env(), "wrong")}
    config = write_config(tmp_path / "trueup.toml", small_world)
    result = trueup("sync", "orders", "--once", "-c", str(config), env=env)
    assert result.returncode == 2
    assert "401 not authorised" in " ".join(result.stderr.split())
    assert "wrong" not in result.stderr  # the secret itself is never echoed


def test_creating_the_missing_item_in_the_erp_posts_the_parked_order_by_itself(
    tmp_path: Path, small_world: World
) -> None:
    env = cli_env(small_world)
    config = write_config(tmp_path / "trueup.toml", small_world)
    assert trueup("sync", "orders", "--once", "-c", str(config), env=env).returncode == 0
    parked = json.loads(
        trueup("exceptions", "list", "--reason", "unknown_sku", "--json", "-c", str(config), env=env).stdout
    )
    assert parked
    assert all(row["system"] == "magento" and row["owner"] == "ecommerce" for row in parked)
    assert all(row["impact_minor"] > 0 and row["currency"] in ("GBP", "EUR") for row in parked)
    missing = {row["field"] for row in parked}
    assert all(f.startswith("lines[") and f.endswith(".sku") for f in missing)
    # The ecommerce team has the products created in the ERP (products originate there).
    skus = {detail.split("SKU '")[1].split("'")[0] for detail in (row["detail"] for row in parked)}
    small_world.erp.load_items(
        [
            {"item_id": f"IT-NEW-{n}", "sku": sku, "barcode": "", "name": sku, "active": True}
            for n, sku in enumerate(sorted(skus))
        ]
    )
    again = trueup("sync", "orders", "--once", "-c", str(config), env=env)
    assert again.returncode == 0, again.stderr
    counts = small_world.erp_order_counts()
    assert all(counts.get(row["key"]) == 1 for row in parked)
    left = json.loads(
        trueup("exceptions", "list", "--reason", "unknown_sku", "--json", "-c", str(config), env=env).stdout
    )
    assert left == []


def test_a_rate_limited_flaky_magento_still_drains_every_order_once(tmp_path: Path) -> None:
    from trueup.sandbox.faults import Faults
    from trueup.sandbox.scenario import FaultMix
    from trueup.sandbox.world import trading_day

    world = World(
        trading_day(17, 300, faults=FaultMix(pending_payment=0.0)),
        magento_faults=Faults(rate_limit_rate=0.3, error_rate=0.2, retry_after=0, seed=17),
    )
    world.start()
    try:
        config = write_config(tmp_path / "trueup.toml", world)
        config.write_text(config.read_text().replace("page_size = 100", "page_size = 10"))  # 30 pages
        result = trueup(
            "sync", "orders", "--once", "--progress", "jsonl", "-c", str(config), env=cli_env(world)
        )
        assert result.returncode == 0, result.stderr[-2000:]
        retries = [json.loads(line) for line in result.stdout.splitlines() if '"retry"' in line]
        assert retries and all("Magento" in r["error"] for r in retries)
        assert world.magento_faults.stats.rate_limited > 0 and world.magento_faults.stats.unavailable > 0
        counts = world.erp_order_counts()
        assert set(counts) == {k for k, v in world.scenario.expected.items() if v == "post"}
        assert set(counts.values()) == {1}
    finally:
        world.stop()


def test_a_token_revoked_mid_run_stops_observation_too(tmp_path: Path, small_world: World) -> None:
    """observe_ahead below the backlog: observation is pacing on the worker when the worker hits the 401,
    and must stop with it rather than wait for progress that will never come."""
    config = write_config(tmp_path / "trueup.toml", small_world, observe_ahead=5)
    assert trueup("sync", "items", "-c", str(config), env=cli_env(small_world)).returncode == 0
    revoked = {**cli_env(small_world), **dict.fromkeys(small_world.erp.env(), "revoked")}
    result = trueup("sync", "orders", "--once", "--skip-items", "-c", str(config), env=revoked)
    assert result.returncode == 2
    assert "401 not authorised" in " ".join(result.stderr.split())
    assert small_world.erp_order_counts() == {}


def test_check_online_reaches_both_systems_and_names_the_one_that_refuses(
    tmp_path: Path, small_world: World
) -> None:
    config = write_config(tmp_path / "trueup.toml", small_world)
    good = trueup("check", "--online", "-c", str(config), env=cli_env(small_world))
    assert good.returncode == 0, good.stderr
    assert "storefront magento: reachable" in good.stderr and "ERP erp (rest): reachable" in good.stderr
    env = {**cli_env(small_world), "SANDBOX_MAGENTO_ACCESS_TOKEN": "e" * 32}
    bad = trueup("check", "--online", "-c", str(config), env=env)
    assert bad.returncode == 2
    message = " ".join(bad.stderr.split())
    assert "storefront magento: Magento GET /V1/orders: 401 not authorised" in message
    assert "ERP erp (rest): reachable" in message


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        ("SANDBOX_MAGENTO_CONSUMER_KEY", "the consumer key in SANDBOX_MAGENTO_CONSUMER_KEY is wrong"),
        ("SANDBOX_MAGENTO_CONSUMER_SECRET", "the consumer secret in SANDBOX_MAGENTO_CONSUMER_SECRET or"),
        ("SANDBOX_MAGENTO_ACCESS_TOKEN", "the access token in SANDBOX_MAGENTO_ACCESS_TOKEN is wrong"),
        (
            "SANDBOX_MAGENTO_ACCESS_TOKEN_SECRET",
            "the access token secret in SANDBOX_MAGENTO_ACCESS_TOKEN_SECRET",
        ),
    ],
)
def test_check_online_names_the_wrong_magento_secret(
    tmp_path: Path, small_world: World, wrong: str, named: str
) -> None:
    config = write_config(tmp_path / "trueup.toml", small_world)
    right = cli_env(small_world)
    result = trueup("check", "--online", "-c", str(config), env={**right, wrong: "w" * 32})
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert named in message, message
    assert right[wrong] not in result.stderr + result.stdout  # the right value is never printed either


def test_check_warns_of_a_magento_secret_that_cannot_be_one(tmp_path: Path, small_world: World) -> None:
    config = write_config(tmp_path / "trueup.toml", small_world)
    pasted = small_world.magento_oauth.consumer_secret + " "
    result = trueup(
        "check", "-c", str(config), env={**cli_env(small_world), "SANDBOX_MAGENTO_CONSUMER_SECRET": pasted}
    )
    assert result.returncode == 0
    assert "SANDBOX_MAGENTO_CONSUMER_SECRET is 33 characters long; Magento's are 32" in " ".join(
        result.stderr.split()
    )
    assert small_world.magento_oauth.consumer_secret not in result.stderr + result.stdout


def test_bearer_auth_still_runs_a_pass_and_check_reports_its_missing_token(
    tmp_path: Path, small_world: World
) -> None:
    small_world.magento_auth = "bearer"
    config = write_config(tmp_path / "trueup.toml", small_world)
    assert 'auth = "bearer"' in config.read_text()
    env = cli_env(small_world)
    assert trueup("check", "--online", "-c", str(config), env=env).returncode == 0
    result = trueup("sync", "orders", "--once", "-c", str(config), env=env)
    assert result.returncode == 0, result.stderr
    assert sum(small_world.erp_order_counts().values()) > 0
    unset = {k: v for k, v in env.items() if k != "SANDBOX_MAGENTO_TOKEN"}
    checked = trueup("check", "-c", str(config), env=unset)
    assert checked.returncode == 2  # a secret that is not set: the config cannot work
    assert "SANDBOX_MAGENTO_TOKEN is not set" in " ".join(checked.stderr.split())
    assert "CONSUMER_KEY" not in checked.stderr
