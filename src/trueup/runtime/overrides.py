"""The `QueueOverrides` port over the store: what people added from the exception queue."""

from __future__ import annotations

from collections.abc import Sequence

from trueup.model.queue import OrderOverrides
from trueup.runtime.backend import EmbeddedBackend
from trueup.store.queue import order_overrides


class StoreQueueOverrides:
    def __init__(self, backend: EmbeddedBackend, kind: str) -> None:
        self.backend = backend
        self.kind = kind

    async def for_orders(self, keys: Sequence[str]) -> OrderOverrides:
        def read() -> OrderOverrides:
            with self.backend.store.tx() as conn:
                return order_overrides(conn, self.kind, keys)

        return await self.backend.call(read)
