"""What every ERP sandbox offers the demo, the end-to-end tests and the connector contract suite.

Each ERP's emulator (REST, Stokly, Prima, Merret, files) provides one class implementing `ErpSandbox`: it
serves the ERP's real wire format on loopback and lets a test act as the ERP's own users (the warehouse
despatching an order, a stock count, a price change). `erp_sandbox(kind, ...)` builds one by kind.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from trueup.sandbox.faults import Faults


class ErpSandbox(Protocol):
    kind: str
    faults: Faults

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def erp_config(self) -> dict[str, Any]:
        """The `[erp]` table of a trueup.toml that points at this sandbox (with its `[erp.<kind>]` options).
        Secrets are referenced by environment variable name; `env()` gives their values."""
        ...

    def env(self) -> dict[str, str]: ...

    def load_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Create items in the ERP's item master. Each: item_id, sku, barcode, name, active."""
        ...

    def set_stock(
        self, sku: str, location: str, *, on_hand: int, allocated: int = 0, quarantined: int = 0
    ) -> None:
        """A stock count in the ERP: absolute figures for one item at one location."""
        ...

    def set_price(self, sku: str, currency: str, price: str) -> None:
        """The ERP's base price for an item (price as a decimal string)."""
        ...

    def despatch(
        self,
        external_id: str,
        *,
        carrier: str,
        service: str,
        tracking: str,
        lines: Sequence[tuple[str, int]] = (),
        closes_order: bool = False,
    ) -> str:
        """The warehouse despatches (part of) the sales order for storefront order `external_id`; empty
        `lines` means everything. `closes_order`: the warehouse closes the order with this despatch, short
        of what was ordered. Returns the ERP's despatch id."""
        ...

    def sales_order_counts(self) -> dict[str, int]:
        """Storefront order id → how many ERP sales orders carry it (more than 1 is a duplicate)."""
        ...

    def credit_note_counts(self) -> dict[str, int]:
        """Storefront refund id → how many ERP credit notes carry it."""
        ...


# kind -> "module:Class"; modules are imported only when that kind is asked for.
SANDBOXES = {
    "rest": "trueup.sandbox.rest_erp_sandbox:RestErpSandbox",
    "stokly": "trueup.sandbox.stokly:StoklySandbox",
    "prima": "trueup.sandbox.prima:PrimaSandbox",
    "merret": "trueup.sandbox.merret:MerretSandbox",
    "files": "trueup.sandbox.merret:FilesSandbox",
}


def erp_sandbox(
    kind: str, *, seed: int = 0, faults: Faults | None = None, enforce_unique: bool = True
) -> ErpSandbox:
    try:
        target = SANDBOXES[kind]
    except KeyError:
        raise ValueError(f"no sandbox for ERP kind {kind!r}; expected one of {sorted(SANDBOXES)}") from None
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    sandbox: ErpSandbox = cls(seed=seed, faults=faults or Faults(seed=seed), enforce_unique=enforce_unique)
    return sandbox
