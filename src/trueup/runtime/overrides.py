"""The `QueueOverrides` port over the store: what people added from the exception queue.

Both tables are append-only, so the port keeps what it read and asks only whether anything was added since
(one small query a batch); a mapping or acceptance made by another process is seen on the next batch."""

from __future__ import annotations

from collections.abc import Sequence

from trueup.model.queue import OrderOverrides
from trueup.runtime.backend import EmbeddedBackend
from trueup.store.queue import generation, order_overrides


class StoreQueueOverrides:
    def __init__(self, backend: EmbeddedBackend, kind: str) -> None:
        self.backend = backend
        self.kind = kind
        self._seen: tuple[int, int] | None = None
        self._all = OrderOverrides()

    async def for_orders(self, keys: Sequence[str]) -> OrderOverrides:
        def read() -> OrderOverrides:
            with self.backend.store.tx() as conn:
                now = generation(conn)
                if now != self._seen:
                    self._all, self._seen = order_overrides(conn, self.kind, None), now
            return self._all

        found = await self.backend.call(read)
        if not found.accepted:
            return found
        mine = {k: found.accepted[k] for k in keys if k in found.accepted}
        return OrderOverrides(found.carriers, found.skus, mine)
