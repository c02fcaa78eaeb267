"""The catalogue flow's `CatalogState` port over the store, on the backend's database thread."""

from __future__ import annotations

from trueup.model.catalog import Pushed
from trueup.runtime.backend import EmbeddedBackend
from trueup.store.catalog import pushed_item_rows


class StoreCatalogState:
    def __init__(self, backend: EmbeddedBackend) -> None:
        self.backend = backend

    def _read(self) -> dict[str, Pushed]:
        with self.backend.store.tx() as conn:
            return pushed_item_rows(conn)

    async def pushed_items(self) -> dict[str, Pushed]:
        return await self.backend.call(self._read)
