"""Progress on a long pass: a bar on a terminal, a plain line now and then when stderr is not one (a log,
a CI job). Fed by the engine's events (`observed`, `batch`); the clock is only read, never waited on."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Event = dict[str, object]


class PassProgress:
    """Counts what observation found and what the workers finished for one lane."""

    def __init__(
        self,
        flow: str,
        lane: str,
        console: Console,
        *,
        every_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.flow = flow
        self.lane = lane
        self.console = console
        self.every = every_seconds
        self.clock = clock
        self.found = 0
        self.outcomes: Counter[str] = Counter()
        self._bar: Progress | None = None
        self._task: Any = None
        self._last = clock()

    @property
    def finished(self) -> int:
        return sum(self.outcomes.values())

    def __call__(self, event: Event) -> None:
        kind = event.get("event")
        if kind == "observed" and event.get("flow") == self.flow:
            self.found += int(str(event.get("rows", 0)))
        elif kind == "batch" and event.get("lane") == self.lane:
            for key, value in event.items():
                if key not in ("event", "lane") and isinstance(value, int):
                    self.outcomes[key] += value
        else:
            return
        if self._bar is not None:
            self._bar.update(self._task, total=max(self.found, self.finished), completed=self.finished)
        elif self.clock() - self._last >= self.every:
            self._last = self.clock()
            self.console.print(self.line(), highlight=False)

    def line(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items()))
        return f"{self.flow}: {self.finished} of {self.found} found so far" + (
            f" ({counts})" if counts else ""
        )

    @contextmanager
    def shown(self) -> Iterator[PassProgress]:
        """A live bar while the block runs, if stderr is a terminal; else plain lines every few seconds."""
        if not self.console.is_terminal:
            yield self
            return
        columns = (TextColumn(self.flow), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=True) as bar:
            self._bar, self._task = bar, bar.add_task(self.flow, total=None)
            try:
                yield self
            finally:
                self._bar = None


def fan_out(*handlers: Callable[[Event], None] | None) -> Callable[[Event], None]:
    live = [h for h in handlers if h is not None]

    def each(event: Event) -> None:
        for handler in live:
            handler(event)

    return each
