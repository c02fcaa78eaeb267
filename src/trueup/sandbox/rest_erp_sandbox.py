"""The generic REST ERP as an `ErpSandbox`: the emulator served on loopback, and its back office."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from trueup.sandbox.faults import Faults
from trueup.sandbox.rest_erp import RestErpState, create_app
from trueup.sandbox.rest_erp_back_office import RestErpBackOffice
from trueup.sandbox.serve import ServerThread

TOKEN_ENV = "SANDBOX_REST_ERP_TOKEN"


class RestErpSandbox:
    kind = "rest"

    def __init__(self, *, seed: int = 0, faults: Faults | None = None, enforce_unique: bool = True) -> None:
        self.faults = faults or Faults(seed=seed)
        self.state = RestErpState(enforce_unique=enforce_unique)
        self.back_office = RestErpBackOffice(self.state)
        self.token = secrets.token_hex(16)
        self._server: ServerThread | None = None

    def start(self) -> None:
        self._server = ServerThread(create_app(self.state, token=self.token, faults=self.faults))
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the sandbox first"
        return f"{self._server.url}/api/v1"

    def erp_config(self) -> dict[str, Any]:
        return {"kind": "rest", "name": "erp", "base_url": self.url, "token_env": TOKEN_ENV}

    def env(self) -> dict[str, str]:
        return {TOKEN_ENV: self.token}

    def load_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        self.state.add_items(items)

    def set_stock(
        self, sku: str, location: str, *, on_hand: int, allocated: int = 0, quarantined: int = 0
    ) -> None:
        self.back_office.set_stock(
            sku, location, on_hand=on_hand, allocated=allocated, quarantined=quarantined
        )

    def set_price(self, sku: str, currency: str, price: str) -> None:
        self.back_office.set_price(sku, currency, price)

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
        return self.back_office.despatch(
            external_id,
            carrier=carrier,
            service=service,
            tracking=tracking,
            lines=list(lines),
            closes_order=closes_order,
        )

    def sales_order_counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.state.by_external_id.items()}

    def credit_note_counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.state.credit_notes_by_external_id.items()}
