"""Batch-file ERPs (Merret over real SFTP, the files ERP in a folder): an order written as a file is only
*sent*; it is posted (and linked) when the ERP's batch takes it, an exception with the ERP's own text when
the batch refuses it, and `erp_not_acknowledged` when the batch never looks at it in time. Each case runs
under both acknowledgement rules: the ERP moves the file (done/ or error/), or it archives the file and
writes an acknowledgement file naming it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import FakeClock
from tests.contract.conftest import ITEMS
from tests.contract.passes import ItemsFromErp, Runner, erp_items, order
from tests.contract.test_erp_contract import credit_note, sales_order
from trueup.config import ErpConfig
from trueup.deployment import connect_erp
from trueup.flows.orders import LINK_KIND
from trueup.model.exceptions import Owner, Reason
from trueup.model.work import Status
from trueup.ports import Acknowledgements, AckState
from trueup.sandbox.merret import FilesSandbox, MerretSandbox
from trueup.store import Store


@pytest.fixture(params=["merret/moved", "files/moved", "merret/file", "files/file"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[MerretSandbox | FilesSandbox]:
    kind, rule = str(request.param).split("/")
    erp = MerretSandbox(seed=5) if kind == "merret" else FilesSandbox(seed=5)
    erp.ack_files = rule == "file"
    erp.start()
    erp.load_items(ITEMS)
    yield erp
    erp.stop()


@pytest.fixture
async def runner(
    sandbox: MerretSandbox | FilesSandbox, sqlite_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Runner]:
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    store = Store(sqlite_url)
    async with aiohttp.ClientSession() as session:
        erp = await connect_erp(session, ErpConfig.model_validate(sandbox.erp_config()))
        try:
            yield Runner(erp, store, clock, ItemsFromErp(await erp_items(erp)))
        finally:
            await erp.aclose()
            store.close()
            for name in sandbox.env():
                os.environ.pop(name, None)


# Cases about acknowledgement files only.
FILE_RULE = pytest.mark.parametrize("sandbox", ["merret/file", "files/file"], indirect=True)


def outbound(sandbox: MerretSandbox | FilesSandbox, folder: str) -> list[str]:
    return sorted(p.name for p in (Path(sandbox.root) / "outbound" / folder).iterdir())


def inbound(sandbox: MerretSandbox | FilesSandbox, folder: str) -> list[str]:
    return sorted(p.name for p in (Path(sandbox.root) / "inbound" / folder).iterdir())


async def test_an_order_is_sent_until_the_batch_takes_it_then_posted_once(
    runner: Runner, sandbox: MerretSandbox | FilesSandbox
) -> None:
    runner.enqueue([order("000000201", ("TU0001-M-Navy", "2", "Tee"), at=runner.clock.now())])
    sandbox.batch_paused = True  # the ERP's import batch has not run yet
    await runner.drain()
    row = runner.rows()["000000201"]
    assert (row["status"], row["result"]) == (Status.SENT, "SO_000000201.csv")
    assert runner.store.link_count(LINK_KIND) == 0  # written is not posted
    assert sandbox.sales_order_counts() == {}

    sandbox.batch_paused = False
    await runner.drain()  # the pass asks once more; the listing is what the ERP's batch answers to
    row = runner.rows()["000000201"]
    assert (row["status"], row["sent_at"]) == (Status.DONE, None)
    assert runner.store.link_count(LINK_KIND) == 1
    await runner.drain()
    assert sandbox.sales_order_counts() == {"000000201": 1}
    if sandbox.ack_files:  # the ERP archived the file; only its acknowledgement file says it took it
        assert outbound(sandbox, "pending") == outbound(sandbox, "done") == []
        assert [n[:4] for n in inbound(sandbox, "done") if n.startswith("ACK_")] == ["ACK_"]
    else:
        assert outbound(sandbox, "done") == ["SO_000000201.csv"]


async def test_a_refused_order_file_is_one_exception_with_the_erps_text_and_not_posted(
    runner: Runner, sandbox: MerretSandbox | FilesSandbox
) -> None:
    # trueup's item map still has the item active; the ERP discontinued it since, so its batch refuses.
    old = runner.items.items["TU0003-OLD"]
    runner.items.items["TU0003-OLD"] = replace(old, active=True)
    runner.enqueue(
        [
            order("000000202", ("TU0003-OLD", "1", "Retired tee"), at=runner.clock.now()),
            order("000000203", ("TU0002", "1", "Accessory"), at=runner.clock.now()),
        ]
    )
    await runner.drain()
    rows = runner.rows()
    refused, good = rows["000000202"], rows["000000203"]
    assert refused["status"] == Status.PARKED and refused["reason"] == Reason.ERP_REJECTED
    assert "an item on the order is discontinued" in refused["detail"]  # the ERP's own words
    assert "Resolution:" in refused["detail"]
    assert refused["impact_minor"] == 1200 and refused["currency"] == "GBP"
    assert refused["system"] == runner.erp.name and refused["field"] == "file"
    assert good["status"] == Status.DONE
    assert runner.store.link_count(LINK_KIND) == 1  # only the accepted one is posted
    assert runner.store.counts_by_reason() == {"erp_rejected": 1}
    await runner.drain()  # asking again neither re-sends the refused file nor files a second exception
    assert runner.store.counts_by_reason() == {"erp_rejected": 1}
    if not sandbox.ack_files:  # the text came from the note the batch left with the file
        assert outbound(sandbox, "error") == ["SO_000000202.csv", "SO_000000202.csv.error.txt"]
    assert sandbox.sales_order_counts() == {"000000203": 1}


async def test_a_file_never_picked_up_becomes_erp_not_acknowledged_and_posts_once_when_retried(
    runner: Runner, sandbox: MerretSandbox | FilesSandbox, clock: FakeClock
) -> None:
    runner.enqueue([order("000000204", ("TU0002", "3", "Accessory"), at=clock.now())])
    sandbox.batch_paused = True  # the ERP's batch job is down
    await runner.drain()
    assert runner.rows()["000000204"]["status"] == Status.SENT
    clock.advance(29 * 60)  # inside the 30-minute timeout: still awaiting
    await runner.drain()
    assert runner.rows()["000000204"]["status"] == Status.SENT
    clock.advance(2 * 60)
    await runner.drain()
    row = runner.rows()["000000204"]
    assert (row["status"], row["reason"], row["owner"]) == (
        Status.PARKED,
        Reason.ERP_NOT_ACKNOWLEDGED,
        Owner.WAREHOUSE,
    )
    assert "SO_000000204.csv" in row["detail"] and "30 minutes" in row["detail"]
    assert "Resolution:" in row["detail"] and row["impact_minor"] == 3600
    assert runner.store.link_count(LINK_KIND) == 0

    # Operations restart the batch; the exception is retried: the file already there is not written twice.
    sandbox.batch_paused = False
    assert runner.store.requeue_parked([Reason.ERP_NOT_ACKNOWLEDGED], clock.now(), why="batch restarted") == 1
    await runner.drain()
    assert runner.rows()["000000204"]["status"] == Status.DONE
    assert runner.store.link_count(LINK_KIND) == 1
    assert sandbox.sales_order_counts() == {"000000204": 1}


async def test_a_check_that_finds_the_file_gone_from_every_folder_keeps_waiting(
    runner: Runner, sandbox: MerretSandbox | FilesSandbox, clock: FakeClock
) -> None:
    runner.enqueue([order("000000205", ("TU0002", "1", "Accessory"), at=clock.now())])
    sandbox.batch_paused = True
    await runner.drain()
    (Path(sandbox.root) / "outbound" / "pending" / "SO_000000205.csv").unlink()  # lost outside trueup
    clock.advance(31 * 60)
    await runner.drain()
    row = runner.rows()["000000205"]
    assert row["reason"] == Reason.ERP_NOT_ACKNOWLEDGED
    gone = (
        "no acknowledgement file names" if sandbox.ack_files else "in none of outbound/pending, done or error"
    )
    assert gone in row["detail"]


async def test_a_credit_note_file_is_acknowledged_by_the_same_rule(
    runner: Runner, sandbox: MerretSandbox | FilesSandbox
) -> None:
    erp = runner.erp
    assert isinstance(erp, Acknowledgements)
    await erp.post_sales_order(sales_order())
    sandbox.batch_paused = True
    await erp.post_credit_note(credit_note())
    bad = credit_note("CM-102")
    bad = bad.model_copy(update={"lines": (bad.lines[0].model_copy(update={"qty": 0}),)})
    await erp.post_credit_note(bad)
    assert (await erp.credit_note_ack("CM-101")).state == AckState.PENDING
    sandbox.batch_paused = False
    taken = await erp.credit_note_ack("CM-101")
    assert (taken.state, taken.ref) == (AckState.ACCEPTED, "CN_CM-101.csv")
    refused = await erp.credit_note_ack("CM-102")
    assert refused.state == AckState.REFUSED and "must be a positive whole number" in refused.text
    assert sandbox.credit_note_counts() == {"CM-101": 1}


@FILE_RULE
async def test_with_acknowledgement_files_an_archived_order_is_never_written_again(
    runner: Runner, sandbox: MerretSandbox | FilesSandbox
) -> None:
    assert await runner.erp.post_sales_order(sales_order()) == "SO_000000101.csv"
    assert sandbox.sales_order_counts() == {"000000101": 1}  # the batch imports and archives it
    assert outbound(sandbox, "pending") == outbound(sandbox, "done") == []
    sandbox.batch_paused = True
    async with aiohttp.ClientSession() as session:  # a new process: it reads the acknowledgements anew
        fresh = await connect_erp(session, ErpConfig.model_validate(sandbox.erp_config()))
        try:
            assert await fresh.post_sales_order(sales_order()) == "SO_000000101.csv"
            assert await fresh.find_sales_order("000000101") == "SO_000000101.csv"
        finally:
            await fresh.aclose()
    assert outbound(sandbox, "pending") == []  # nothing written a second time


@FILE_RULE
async def test_an_acknowledgement_file_with_a_row_it_cannot_read_is_used_for_nothing(
    runner: Runner, sandbox: MerretSandbox | FilesSandbox
) -> None:
    merret = isinstance(sandbox, MerretSandbox)
    header = "FILE,STATUS,MESSAGE" if merret else "file,status,message"
    bad = Path(sandbox.root) / "inbound" / "pending" / "ACK_20991231T235959.csv"
    bad.write_text(f"{header}\nSO_000000207.csv,accepted,\nSO_000000208.csv,maybe,\n", encoding="utf-8")
    ack = await runner.erp.sales_order_ack("000000207")
    assert ack.state == AckState.PENDING  # the good row in a bad file is not taken either
    assert inbound(sandbox, "error") == [bad.name, f"{bad.name}.error.txt"]
    [rejection] = runner.erp.take_rejections()
    assert rejection.key == bad.name and "'maybe' is neither accepted nor refused" in rejection.message
