"""`trueup sandbox serve`: a real store's item master in each sandbox ERP, served until SIGTERM."""

from __future__ import annotations

import json
import queue
import signal
import sqlite3
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

import pytest

from tests.e2e.conftest import TRUEUP, cli_env, trueup

ITEMS_CSV = (
    "sku,name,barcode,active\n"
    "SHOP-LINEN-M,Linen shirt M,5012345678900,true\n"
    "SHOP-SCARF,Wool scarf,,no\n"
    '"SHOP-MUG, BLUE",Mug,05000000000005,A\n'
)
DEADLINE = 120.0  # generous on 2 shared cores; a hang fails here instead of stalling the suite


def _lines(stream: IO[str]) -> queue.Queue[str]:
    """Lines of a child's output as they arrive, so the test waits on them with a deadline, never a sleep."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put("")  # end of output

    threading.Thread(target=pump, daemon=True).start()
    return lines


@pytest.mark.parametrize("erp", ["rest", "stokly", "prima", "merret", "files"])
def test_serve_loads_the_csv_items_into_the_erp_and_stops_cleanly_on_sigterm(
    erp: str, tmp_path: Path
) -> None:
    items = tmp_path / "items.csv"
    items.write_text(ITEMS_CSV, encoding="utf-8")
    workdir = tmp_path / "sbx"
    proc = subprocess.Popen(
        [
            *TRUEUP,
            "sandbox",
            "serve",
            "--erp",
            erp,
            "--items",
            str(items),
            "--workdir",
            str(workdir),
            "--json",
        ],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = _lines(proc.stdout).get(timeout=DEADLINE)
        assert first, f"sandbox serve ended before serving: {proc.communicate(timeout=DEADLINE)[1]}"
        summary: dict[str, Any] = json.loads(first)
        assert summary["erp_kind"] == erp and summary["items"] == 3
        assert Path(summary["config"]).is_file() and Path(summary["env_file"]).is_file()

        synced = trueup("-c", summary["config"], "sync", "items", env={**cli_env(), **summary["env"]})
        assert synced.returncode == 0, synced.stderr
        database = Path(summary["config"]).parent / "trueup.db"
        with sqlite3.connect(database) as db:
            rows = dict(db.execute("SELECT sku, active FROM item_map").fetchall())
        assert rows == {"SHOP-LINEN-M": 1, "SHOP-SCARF": 0, "SHOP-MUG, BLUE": 1}
    finally:
        proc.send_signal(signal.SIGTERM)
        returncode = proc.wait(timeout=DEADLINE)
    assert returncode == 0, proc.stderr.read() if proc.stderr else ""


def test_a_bad_row_stops_serve_with_an_error_naming_the_line_and_column(tmp_path: Path) -> None:
    items = tmp_path / "items.csv"
    items.write_text("sku,name,barcode\nOK-1,Fine,\nBAD-1,Broken,5012345678901\n", encoding="utf-8")
    result = trueup(
        "sandbox", "serve", "--items", str(items), "--workdir", str(tmp_path / "sbx"), env=cli_env()
    )
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "line 3, column barcode" in message and "check digit 1" in message
