"""The `DriftFindings` port over the store: a drift check's complete findings, on the database thread."""

from __future__ import annotations

from collections.abc import Sequence

from trueup.model.exceptions import Reason
from trueup.model.work import InputRejection
from trueup.ports import Clock
from trueup.runtime.backend import EmbeddedBackend
from trueup.store.drift import report_drift


class StoreDriftFindings:
    def __init__(self, backend: EmbeddedBackend, clock: Clock) -> None:
        self.backend = backend
        self.clock = clock

    def _report(self, reason: Reason, findings: Sequence[InputRejection]) -> tuple[int, int]:
        with self.backend.store.tx() as conn:
            return report_drift(conn, reason, findings, self.clock.now())

    async def report(self, reason: Reason, findings: Sequence[InputRejection]) -> tuple[int, int]:
        return await self.backend.call(self._report, reason, findings)
