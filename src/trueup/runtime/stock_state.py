"""The stock flow's `StockState` port over the store, on the backend's database thread."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from trueup.ports import Clock
from trueup.runtime.backend import EmbeddedBackend
from trueup.store import stock


class StoreStockState:
    def __init__(self, backend: EmbeddedBackend, clock: Clock) -> None:
        self.backend = backend
        self.clock = clock

    def _read_pushed(self) -> list[tuple[str, str, int]]:
        with self.backend.store.tx() as conn:
            return stock.pushed_rows(conn)

    def _read_in_flight(self) -> list[tuple[str, str, int]]:
        with self.backend.store.tx() as conn:
            return stock.in_flight_rows(conn)

    def _note(
        self, findings: Sequence[tuple[str, str, int, int]], now: datetime
    ) -> dict[tuple[str, str], datetime]:
        with self.backend.store.tx() as conn:
            return stock.note_drift(conn, findings, now)

    async def pushed(self) -> list[tuple[str, str, int]]:
        return await self.backend.call(self._read_pushed)

    async def in_flight(self) -> list[tuple[str, str, int]]:
        return await self.backend.call(self._read_in_flight)

    async def note_drift(
        self, findings: Sequence[tuple[str, str, int, int]]
    ) -> dict[tuple[str, str], datetime]:
        return await self.backend.call(self._note, findings, self.clock.now())

    def _read_prices(self) -> list[tuple[str, str, str, int, str]]:
        with self.backend.store.tx() as conn:
            return stock.pushed_price_rows(conn)

    async def pushed_prices(self) -> list[tuple[str, str, str, int, str]]:
        return await self.backend.call(self._read_prices)

    def _read_prices_in_flight(self) -> list[tuple[str, str, str, int]]:
        with self.backend.store.tx() as conn:
            return stock.prices_in_flight(conn)

    async def prices_in_flight(self) -> list[tuple[str, str, str, int]]:
        return await self.backend.call(self._read_prices_in_flight)
