"""The `SweepLedger` port over the store, on the backend's database thread (one transaction a call)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from trueup.model.checks import LedgerView, SweepWrite
from trueup.ports import Clock
from trueup.runtime.backend import EmbeddedBackend
from trueup.store import checks


class StoreSweepLedger:
    def __init__(
        self,
        backend: EmbeddedBackend,
        clock: Clock,
        *,
        flow: str,
        order_kind: str,
        link_kind: str,
        storefront: str,
    ) -> None:
        self.backend = backend
        self.clock = clock
        self.flow = flow
        self.names = {"order_kind": order_kind, "link_kind": link_kind, "storefront": storefront}

    async def order_views(self, keys: Sequence[str]) -> Mapping[str, LedgerView]:
        def read() -> dict[str, LedgerView]:
            with self.backend.store.tx() as conn:
                return checks.order_views(conn, keys, **self.names)

        return await self.backend.call(read)

    async def observed_until(self) -> datetime | None:
        def read() -> datetime | None:
            with self.backend.store.tx() as conn:
                return checks.observed_until(conn, self.flow, self.names["storefront"])

        return await self.backend.call(read)

    async def write_sweep(self, write: SweepWrite) -> None:
        now = self.clock.now()

        def apply() -> None:
            with self.backend.store.tx() as conn:
                checks.write_sweep(conn, write, now, **self.names)

        await self.backend.call(apply)
