"""The Merret connector over the sandbox's real SFTP server: host-key and password checks, network
failures as retriable, a rename that happened behind a failed reply, and config errors naming the key."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest

from tests.contract.conftest import ITEMS
from tests.contract.test_erp_contract import sales_order
from trueup.config import ErpConfig
from trueup.connectors.files.connector import FilesErp
from trueup.connectors.merret import connect
from trueup.errors import ConfigError, Fatal, Unavailable
from trueup.sandbox.merret import MerretSandbox


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[MerretSandbox]:
    erp = MerretSandbox(seed=2, enforce_unique=False)
    erp.start()
    erp.load_items(ITEMS)
    for name, value in erp.env().items():
        monkeypatch.setenv(name, value)
    yield erp
    erp.stop()


async def merret(sandbox: MerretSandbox, **options: object) -> FilesErp:
    table = sandbox.erp_config()
    table["merret"] = {**table["merret"], **options}
    async with aiohttp.ClientSession() as session:
        return await connect(session, ErpConfig.model_validate(table))


async def test_orders_go_out_with_merret_pids_over_sftp(sandbox: MerretSandbox) -> None:
    erp = await merret(sandbox)
    try:
        ref = await erp.post_sales_order(sales_order())
    finally:
        await erp.aclose()
    assert ref == "SO_000000101.csv"
    text = (sandbox.root / "outbound" / "pending" / ref).read_text()
    header, first = text.splitlines()[:2]
    assert header.startswith("WEB_ORDER_NO,ORDER_DATE,CURRENCY")
    assert sandbox.items["TU0001-M-Navy"]["item_id"] in first
    assert sandbox.sales_order_counts() == {"000000101": 1}


async def test_a_wrong_password_is_fatal(sandbox: MerretSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sandbox.secret_env, "not-the-password")
    erp = await merret(sandbox)
    with pytest.raises(Fatal, match="refused the credentials"):
        await erp.find_sales_order("1")
    await erp.aclose()


async def test_an_unknown_host_key_is_fatal(sandbox: MerretSandbox) -> None:
    empty = sandbox.home / "empty_known_hosts"
    empty.write_text("")
    erp = await merret(sandbox, known_hosts=str(empty))
    with pytest.raises(Fatal, match="host key"):
        await erp.find_sales_order("1")
    await erp.aclose()


async def test_a_server_that_is_not_there_is_retriable(sandbox: MerretSandbox) -> None:
    erp = await merret(sandbox)
    sandbox.server.stop()
    with pytest.raises(Unavailable):
        await erp.find_sales_order("1")
    await erp.aclose()


async def test_a_write_that_landed_behind_a_failed_reply_is_not_sent_twice(sandbox: MerretSandbox) -> None:
    erp = await merret(sandbox)
    try:
        sandbox.faults.update({"error_after_commit_rate": 1.0})
        with pytest.raises(Unavailable):
            await erp.post_sales_order(sales_order())
        sandbox.faults.update({"error_after_commit_rate": 0.0})
        assert await erp.post_sales_order(sales_order()) == "SO_000000101.csv"  # reconnects, finds it
    finally:
        await erp.aclose()
    assert sandbox.sales_order_counts() == {"000000101": 1}


async def test_config_errors_name_the_key(sandbox: MerretSandbox) -> None:
    with pytest.raises(ConfigError, match=r"erp\.merret\.host"):
        await merret(sandbox, host="")
    with pytest.raises(ConfigError, match=r"erp\.merret\.columns"):
        await merret(sandbox, columns={"colour": "COLOUR"})
    with pytest.raises(ConfigError, match=r"erp\.merret\.protocol"):
        await merret(sandbox, protocol="ftp")


@pytest.mark.parametrize("known_hosts", ["", "   ", "/nowhere/known_hosts"])
async def test_an_empty_or_missing_known_hosts_is_a_config_error_not_checking_off(
    sandbox: MerretSandbox, known_hosts: str
) -> None:
    with pytest.raises(ConfigError, match=r"erp\.merret\.known_hosts.*insecure_skip_host_key_check"):
        await merret(sandbox, known_hosts=known_hosts)


async def test_host_key_checking_goes_off_only_by_its_loudly_named_key(
    sandbox: MerretSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    erp = await merret(sandbox, known_hosts="", insecure_skip_host_key_check=True)
    try:
        assert await erp.find_sales_order("1") is None
    finally:
        await erp.aclose()
    assert "NOT authenticated" in caplog.text
