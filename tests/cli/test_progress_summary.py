"""Readable one-pass summaries, and progress lines when stderr is not a terminal (an injected clock)."""

from __future__ import annotations

import io

from rich.console import Console

from trueup.cli.progress import PassProgress
from trueup.cli.summary import readable
from trueup.flows.items import ItemSyncResult


def test_summaries_read_as_words_not_python_reprs() -> None:
    assert readable({"done": 2, "parked": 1}) == "2 done, 1 parked"
    assert readable(ItemSyncResult(10, 1, 2, 0)) == "10 items, 1 inactive, 2 changed, 0 replanned"
    assert readable({"pushed": 3, "by_source": {"main": 3}}) == "3 pushed; by source: 3 main"
    assert readable({}) == "nothing to do"
    assert "{" not in readable({"a": {"b": {"c": 1}}}) and "(" not in readable(ItemSyncResult(1, 0, 0, 0))


def test_progress_prints_a_plain_line_every_interval_when_not_a_terminal() -> None:
    out = io.StringIO()
    now = [0.0]
    progress = PassProgress("orders", "orders", Console(file=out, force_terminal=False), every_seconds=10,
                            clock=lambda: now[0])  # fmt: skip
    with progress.shown():
        progress({"event": "observed", "flow": "orders", "rows": 100})
        progress({"event": "batch", "lane": "orders", "done": 40})
        assert out.getvalue() == ""  # not yet: the interval has not passed
        now[0] = 11.0
        progress({"event": "batch", "lane": "orders", "done": 50, "parked": 2})
        progress({"event": "batch", "lane": "stock", "done": 999})  # another lane: not counted
    assert out.getvalue().strip() == "orders: 92 of 100 found so far (90 done, 2 parked)"
