"""Defects found by hostile testing, each reproduced against the sandboxes through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day


def test_a_reused_increment_id_parks_the_second_order_naming_both_entity_ids(tmp_path: Path) -> None:
    world = World(trading_day(41, 20, faults=FaultMix.none()))
    first = world.scenario.orders[3]
    twin = {**first, "entity_id": 90_001, "grand_total": first["grand_total"]}
    world.magento.add_order(twin)
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        for _ in range(2):  # a second pass re-reads both and changes nothing
            result = trueup("sync", "orders", "--once", "-c", str(config), env=env)
            assert result.returncode == 0, result.stderr
        listed = json.loads(
            trueup(
                "exceptions", "list", "--reason", "duplicate_order_id", "--json", "-c", str(config), env=env
            ).stdout
        )
        key = first["increment_id"]
        assert [row["key"] for row in listed] == [f"{key}~entity-90001"]
        assert (
            "entity id 90001" in listed[0]["detail"]
            and f"entity id {first['entity_id']}" in listed[0]["detail"]
        )
        assert world.erp_order_counts()[key] == 1  # the first order posted, once
        assert len(world.erp_order_counts()) == len(world.scenario.orders)
    finally:
        world.stop()


GOOD = """
[storefront]
base_url = "https://shop.example.co.uk/rest/default"
auth = "bearer"
token_env = "SHOP_TOKEN"

[erp]
kind = "rest"
base_url = "https://erp.example.co.uk/api"
token_env = "ERP_TOKEN"

[flows.orders]
start_from = 2026-12-01T00:00:00

[mappings.carriers]
flatrate_flatrate = "RM/TRACKED48"

[runtime]
database_url = "sqlite:///{db}"
"""


def check(tmp_path: Path, text: str, *args: str) -> tuple[int, str]:
    config = tmp_path / "trueup.toml"
    config.write_text(text.replace("{db}", str(tmp_path / "trueup.db")))
    env = {**cli_env(), "SHOP_TOKEN": "s" * 32, "ERP_TOKEN": "e" * 32}
    result = trueup("check", "-c", str(config), *args, env=env)
    return result.returncode, " ".join(result.stderr.split())


def test_check_accepts_a_good_config_without_creating_the_database(tmp_path: Path) -> None:
    code, out = check(tmp_path, GOOD)
    assert code == 0, out
    assert not (tmp_path / "trueup.db").exists()


def test_check_reports_every_problem_at_once_in_plain_words_and_fails(tmp_path: Path) -> None:
    bad = (
        GOOD.replace("https://shop.example.co.uk/rest/default", "not a url")
        .replace("https://erp.example.co.uk/api", "ftp://shop")
        .replace('"RM/TRACKED48"', '"RM"')
        .replace("sqlite:///{db}", "mysql://x/y")
        .replace('token_env = "ERP_TOKEN"', 'token_env = "ERP_TOKEN"\ncurrencies = ["GBPX"]')
        + "\n[flow.orders]\ninterval_seconds = 60\n"
    )
    code, out = check(tmp_path, bad)
    assert code == 2
    assert "6 problems" in out
    for named in (
        "storefront.base_url = 'not a url' is not an http(s) URL",
        "erp.base_url = 'ftp://shop' is not an http(s) URL",
        "GBPX",
        "CARRIER/SERVICE",
        "runtime.database_url",
        "flow is not a known key; did you mean `flows`?",
    ):
        assert named in out
    assert "Input should" not in out and "Traceback" not in out and "Value error" not in out


def test_check_refuses_a_stokly_erp_without_its_table_offline(tmp_path: Path) -> None:
    code, out = check(tmp_path, GOOD.replace('kind = "rest"', 'kind = "stokly"'))
    assert code == 2 and "erp.stokly.location_id" in out


def test_check_refuses_a_missing_secret_variable(tmp_path: Path) -> None:
    code, out = check(tmp_path, GOOD.replace('token_env = "ERP_TOKEN"', 'token_env = "ERP_TOKEN_TYPO"'))
    assert code == 2 and "ERP_TOKEN_TYPO is not set" in out


def test_check_names_a_folder_a_mistyped_sqlite_path_and_an_unreachable_postgres(tmp_path: Path) -> None:
    env = cli_env()
    folder = trueup("check", "-c", str(tmp_path), env=env)
    said = " ".join(folder.stderr.split())
    assert folder.returncode == 2 and "is a folder" in said and "Traceback" not in said
    code, out = check(tmp_path, GOOD.replace("{db}", "{db}/../nowhere/trueup.db"))
    assert code == 2 and "does not exist" in out
    assert not (tmp_path / "nowhere").exists()
    code, out = check(tmp_path, GOOD.replace("sqlite:///{db}", "postgresql://trueup:pw@127.0.0.1:1/trueup"))
    assert code == 2 and "cannot reach PostgreSQL at 127.0.0.1:1/trueup" in out and "pw" not in out


def test_secrets_belong_in_the_environment_and_are_never_echoed(tmp_path: Path) -> None:
    pasted = "ab12cd34ef56ab12cd34ef56ab12cd34"
    code, out = check(tmp_path, GOOD.replace('token_env = "SHOP_TOKEN"', f'token_env = "{pasted}"'))
    assert code == 2 and "storefront.token_env" in out and pasted not in out
    code, out = check(tmp_path, GOOD.replace('kind = "rest"', f'kind = "rest"\ntoken = "{pasted}"'))
    assert code == 2 and "erp.token: secrets never go in the file" in out and pasted not in out
    code, out = check(tmp_path, GOOD.replace("https://erp.", f"https://user:{pasted}@erp."))
    assert code == 2 and "erp.base_url" in out and pasted not in out


def test_plain_http_is_refused_unless_allowed_by_name(tmp_path: Path) -> None:
    insecure = GOOD.replace("https://erp.example", "http://erp.example")
    code, out = check(tmp_path, insecure)
    assert code == 2 and "erp.base_url" in out and "allow_insecure_http" in out
    code, out = check(
        tmp_path, insecure.replace('kind = "rest"', 'kind = "rest"\nallow_insecure_http = true')
    )
    assert code == 0, out


def test_each_system_gets_its_own_timeout(tmp_path: Path, small_world: World) -> None:
    """The storefront's timeout once gave way to the larger ERP one: a Magento slower than its own
    `timeout_seconds` was waited on for the ERP's 30 s."""
    small_world.magento_faults.update({"slow_rate": 1.0, "latency_ms": 3000})
    config = write_config(tmp_path / "trueup.toml", small_world, max_attempts=2)
    text = config.read_text().replace("page_size = 100", "page_size = 100\ntimeout_seconds = 0.5")
    config.write_text(text)
    result = trueup("sync", "orders", "--once", "-c", str(config), env=cli_env(small_world))
    assert result.returncode == 2
    said = " ".join(result.stderr.split())
    assert "Magento GET /V1/orders" in said and "Timeout" in said


def test_the_database_and_the_init_file_are_readable_by_their_owner_only(
    tmp_path: Path, small_world: World
) -> None:
    env = cli_env(small_world)
    assert trueup("init", str(tmp_path / "example.toml"), env=env).returncode == 0
    assert (tmp_path / "example.toml").stat().st_mode & 0o777 == 0o600
    config = write_config(tmp_path / "trueup.toml", small_world)
    assert trueup("sync", "orders", "--once", "-c", str(config), env=env).returncode == 0
    for db in tmp_path.glob("trueup.db*"):
        assert db.stat().st_mode & 0o777 == 0o600, db


def test_exceptions_on_a_mistyped_database_path_is_an_error_not_an_empty_queue(tmp_path: Path) -> None:
    config = tmp_path / "trueup.toml"
    config.write_text(GOOD.replace("{db}", str(tmp_path / "typo" / "trueup.db")))
    result = trueup("exceptions", "list", "-c", str(config), env=cli_env())
    assert result.returncode == 2 and "does not exist" in " ".join(result.stderr.split())
    assert not (tmp_path / "typo").exists()


def test_a_damaged_database_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    db = tmp_path / "trueup.db"
    db.write_bytes(b"this is not a database, it is a text file that replaced it" * 100)
    config = tmp_path / "trueup.toml"
    config.write_text(GOOD.replace("{db}", str(db)))
    result = trueup("exceptions", "list", "-c", str(config), env=cli_env())
    said = " ".join(result.stderr.split())
    assert result.returncode == 2 and "Traceback" not in said
    assert f"{db} is damaged" in said and "restore the file from a backup" in said


def test_order_ids_that_clean_up_to_one_file_name_all_reach_a_files_erp(tmp_path: Path) -> None:
    """`A/1` and `A_1` both became SO_A_1.csv: the second link broke the unique ERP reference and every
    later pass crashed the same way, with orders written to the ERP and none linked."""
    world = World(trading_day(43, 12, faults=FaultMix.none()), erp_kind="files")
    for order, new_id in zip(world.scenario.orders[:3], ("A/1", "A_1", "A 1"), strict=True):
        world.magento.update_order(order["entity_id"], {"increment_id": new_id}, order["updated_at"])
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        for _ in range(2):
            result = trueup("sync", "orders", "--once", "-c", str(config), env=env)
            assert result.returncode == 0, result.stderr
        outbound = Path(world.erp.erp_config()["files"]["root"]) / "outbound"
        names = sorted(p.name for p in outbound.rglob("SO_A*"))
        assert len(names) == 3 and len(set(names)) == 3
        listed = json.loads(trueup("exceptions", "list", "--json", "-c", str(config), env=env).stdout)
        assert listed == []
    finally:
        world.stop()


def test_a_secret_can_come_from_a_file_named_by_its_variable_with_file(
    tmp_path: Path, small_world: World
) -> None:
    env = cli_env(small_world)
    name = small_world.erp.erp_config()["token_env"]
    secret_file = tmp_path / "erp_token"
    secret_file.write_text(env.pop(name) + "\n")
    env[f"{name}_FILE"] = str(secret_file)
    config = write_config(tmp_path / "trueup.toml", small_world)
    assert trueup("check", "-c", str(config), env=env).returncode == 0
    result = trueup("sync", "orders", "--once", "-c", str(config), env=env)
    assert result.returncode == 0, result.stderr
    assert sum(small_world.erp_order_counts().values()) > 0
