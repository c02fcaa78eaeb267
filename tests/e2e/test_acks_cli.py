"""`trueup sync orders --once` against batch-file ERPs, as real processes: what the ERP's batch has not
answered for is reported as awaiting, not posted, and the next pass settles it; SIGKILL while orders are
being sent and acknowledged loses and duplicates nothing."""

from __future__ import annotations

import random
import signal
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from tests.e2e.conftest import cli_env, run_until_killed, trueup, write_config
from trueup.flows.orders import KIND, LINK_KIND
from trueup.model.work import Status
from trueup.sandbox.faults import Faults
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day
from trueup.store import Store
from trueup.store.schema import work


def ledger(db: Path) -> tuple[dict[str, tuple[str, str | None]], int]:
    store = Store(f"sqlite:///{db}")
    try:
        with store.tx() as conn:
            query = select(work.c.key, work.c.status, work.c.reason).where(work.c.kind == KIND)
            rows = {k: (s, r) for k, s, r in conn.execute(query)}
        return rows, store.link_count(LINK_KIND)
    finally:
        store.close()


def test_a_pass_before_the_batch_ran_reports_orders_awaiting_and_the_next_pass_posts_them(
    tmp_path: Path,
) -> None:
    # The files sandbox's batch runs when *this* process lists its folder (it stands in for a folder
    # watch); the CLI runs in another process, so nothing imports the files until the test says so.
    world = World(trading_day(21, 40, faults=FaultMix.none()), erp_kind="files")
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        first = trueup("sync", "orders", "--once", "-c", str(config), env=env)
        assert first.returncode == 0, first.stderr[-3000:]
        assert "orders: 40 sent, 40 awaiting ack" in first.stderr  # written, then asked once
        assert "orders awaiting the ERP's acknowledgement: 40" in first.stderr
        rows, links = ledger(tmp_path / "trueup.db")
        assert Counter(s for s, _ in rows.values()) == {Status.SENT: 40} and links == 0

        assert sum(world.erp_order_counts().values()) == 40  # the ERP's batch runs and takes every file
        second = trueup("sync", "orders", "--once", "-c", str(config), env=env)
        assert second.returncode == 0, second.stderr[-3000:]
        assert "orders: 40 done" in second.stderr and "acknowledgement" not in second.stderr
        rows, links = ledger(tmp_path / "trueup.db")
        assert Counter(s for s, _ in rows.values()) == {Status.DONE: 40} and links == 40
        assert sum(world.erp_order_counts().values()) == 40
    finally:
        world.stop()


def test_sigkill_while_sending_to_merret_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(7)
    world = World(
        trading_day(6, 400, faults=FaultMix(pending_payment=0.0)),
        erp_kind="merret",
        erp_faults=Faults(error_rate=0.05, error_after_commit_rate=0.02, seed=6),
        enforce_unique=False,  # a second file under another name would be a second Merret order
    )
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world, batch_size=20)
        for point in [("batch", rng.randint(2, 8)), ("batch", rng.randint(2, 8))]:
            code, _ = run_until_killed(config, env, point)
            assert code == -signal.SIGKILL
        final = trueup("sync", "orders", "--once", "-c", str(config), env=env)
        assert final.returncode == 0, final.stderr[-3000:]

        expected = world.scenario.expected
        should_post = {k for k, v in expected.items() if v == "post"}
        in_erp = world.erp_order_counts()
        assert set(in_erp) == should_post and set(in_erp.values()) == {1}
        rows, links = ledger(tmp_path / "trueup.db")
        for key, want in expected.items():
            assert rows[key] == ((Status.DONE, None) if want == "post" else (Status.PARKED, want)), key
        assert links == len(should_post)
        assert world.erp_faults.stats.unavailable > 0
    finally:
        world.stop()
