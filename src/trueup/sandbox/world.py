"""A sandbox world: the Magento and REST ERP emulators loaded with one scenario, served on loopback.

Used by `trueup demo`, the end-to-end tests and the benchmarks, in-process (threads) or as a separate
process (`python -m trueup.sandbox.world`), so that the engine can be measured on its own.
"""

from __future__ import annotations

import argparse
import gc
import json
import secrets
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from trueup.sandbox.erps import ErpSandbox, erp_sandbox
from trueup.sandbox.faults import Faults
from trueup.sandbox.magento import MagentoState, OAuthCredentials
from trueup.sandbox.magento import create_app as magento_app
from trueup.sandbox.magento_catalog import CatalogState
from trueup.sandbox.magento_inventory import InventoryState
from trueup.sandbox.magento_prices import PriceState
from trueup.sandbox.scenario import TIME, FaultMix, Scenario, capture_payment, generate
from trueup.sandbox.serve import ServerThread, use_uvloop_in_threads


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def trading_day(seed: int, orders: int, *, faults: FaultMix | None = None) -> Scenario:
    """Orders placed over the last ten hours, the newest a few minutes ago."""
    now = utcnow().replace(microsecond=0)
    return generate(
        seed, orders, start=now - timedelta(hours=10), end=now - timedelta(minutes=5), faults=faults
    )


MAGENTO_TOKEN_ENV = "SANDBOX_MAGENTO_TOKEN"
MAGENTO_OAUTH_ENV = {
    "consumer_key": "SANDBOX_MAGENTO_CONSUMER_KEY",
    "consumer_secret": "SANDBOX_MAGENTO_CONSUMER_SECRET",
    "access_token": "SANDBOX_MAGENTO_ACCESS_TOKEN",
    "access_token_secret": "SANDBOX_MAGENTO_ACCESS_TOKEN_SECRET",
}


def _whole_units(value: object) -> int:
    """A line's quantity in whole units, or 0 when it is not one (Magento sends "2.0000" or 2)."""
    try:
        qty = Decimal(str(value if value is not None else 0))
    except InvalidOperation:
        return 0
    return int(qty) if qty.is_finite() and qty == qty.to_integral_value() else 0


@dataclass
class World:
    """The sandbox Magento with a scenario's orders, and the sandbox ERP of `erp_kind` with its items.

    The sandbox Magento accepts both an OAuth 1.0a signature with `magento_oauth` and the bearer
    `magento_token`; `magento_auth` is the one that `config` writes.
    """

    scenario: Scenario
    erp_kind: str = "rest"
    magento_auth: str = "oauth1"
    magento_token: str = field(default_factory=lambda: secrets.token_hex(16))
    magento_oauth: OAuthCredentials = field(default_factory=OAuthCredentials)
    magento_faults: Faults = field(default_factory=Faults)
    erp_faults: Faults = field(default_factory=Faults)
    enforce_unique: bool = True

    def __post_init__(self) -> None:
        self.magento = MagentoState(self.scenario.orders)
        self.inventory = InventoryState()  # the store's MSI source items and reservations
        # The store's catalogue: every item the ERP has (prices can be set for these only).
        self.prices = PriceState(products={str(i["sku"]) for i in self.scenario.erp_items})
        self.catalog = CatalogState()  # the store's products, as the ERP's item master first made them
        self.catalog.seed(self.prices.products)
        for order in self.scenario.orders:  # every order placed holds a reservation until it ships
            if order.get("state") != "canceled":
                for line in order.get("items", []):
                    qty = _whole_units(line.get("qty_ordered"))
                    if line.get("product_type") == "simple" and qty > 0:  # a hostile order may hold "1.5"
                        self.inventory.place_order(str(line["sku"]), qty, order=str(order["increment_id"]))
        self.erp: ErpSandbox = erp_sandbox(
            self.erp_kind, seed=self.scenario.seed, faults=self.erp_faults, enforce_unique=self.enforce_unique
        )
        self._magento_server: ServerThread | None = None

    def start(self) -> None:
        self._magento_server = ServerThread(
            magento_app(
                self.magento,
                token=self.magento_token,
                oauth=self.magento_oauth,
                faults=self.magento_faults,
                inventory=self.inventory,
                prices=self.prices,
                catalog=self.catalog,
            )
        )
        self._magento_server.start()
        self.erp.start()
        self.erp.load_items(self.scenario.erp_items)

    def stop(self) -> None:
        if self._magento_server is not None:
            self._magento_server.stop()
        self.erp.stop()

    @property
    def magento_url(self) -> str:
        assert self._magento_server is not None, "start() the world first"
        return f"{self._magento_server.url}/rest/default"

    def config(self, database_url: str, **sections: dict[str, Any]) -> dict[str, Any]:
        """A deployment config (as TOML data) pointing at this world; `sections` are merged over it."""
        data: dict[str, Any] = {
            "storefront": {
                "kind": "magento",
                "name": "magento",
                "base_url": self.magento_url,
                "auth": self.magento_auth,
                "token_env": MAGENTO_TOKEN_ENV,
                **{f"{role}_env": env for role, env in MAGENTO_OAUTH_ENV.items()},
            },
            "erp": self.erp.erp_config(),
            "mappings": {"carriers": dict(self.scenario.carriers)},
            "runtime": {"database_url": database_url},
        }
        for name, values in sections.items():
            data[name] = {**data.get(name, {}), **values}
        return data

    def env(self) -> dict[str, str]:
        """The secrets the config names, by environment variable."""
        oauth = {env: getattr(self.magento_oauth, role) for role, env in MAGENTO_OAUTH_ENV.items()}
        return {MAGENTO_TOKEN_ENV: self.magento_token, **oauth, **self.erp.env()}

    def capture_pending(self) -> int:
        """Later in the day the pending payments are captured: Magento updates those orders."""
        at = utcnow().strftime(TIME)
        for entity_id in self.scenario.pending:
            order = self.magento.get(entity_id)
            if order is not None:
                self.magento.update_order(entity_id, capture_payment(order), at)
        return len(self.scenario.pending)

    def erp_order_counts(self) -> dict[str, int]:
        return self.erp.sales_order_counts()


def main(argv: list[str] | None = None) -> None:
    """Serve a world in the foreground; print its config and secrets as one JSON line, then block."""
    parser = argparse.ArgumentParser(prog="python -m trueup.sandbox.world")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--erp", default="rest")
    parser.add_argument("--clean", action="store_true", help="no deliberately bad orders")
    parser.add_argument("--erp-error-rate", type=float, default=0.0)
    parser.add_argument("--no-unique", action="store_true", help="the ERP accepts duplicate external ids")
    args = parser.parse_args(argv)
    use_uvloop_in_threads()  # this process only serves the world
    world = World(
        trading_day(args.seed, args.orders, faults=FaultMix.none() if args.clean else None),
        erp_kind=args.erp,
        erp_faults=Faults(error_rate=args.erp_error_rate, seed=args.seed),
        enforce_unique=not args.no_unique,
    )
    world.start()
    # The scenario (every order, item and reservation: millions of objects) lives as long as this process.
    # Frozen out of the cyclic GC's way: otherwise a full collection mid-run walks all of it and stalls
    # both servers for ~0.3 s, which the engine being measured would wait out (gc.callbacks, 10,000 orders:
    # 0.36-0.41 s of collection during a run, one of them 0.3 s; 0.04 s once frozen).
    gc.freeze()
    gc.set_threshold(100_000, 20, 100)
    summary = {
        "config": world.config("sqlite:///trueup.db"),
        "env": world.env(),
        "expected": dict(world.scenario.expected_counts()),
    }
    print(json.dumps(summary), flush=True)
    try:
        sys.stdin.read()  # serve until our parent closes our stdin (or Ctrl-D)
    finally:
        world.stop()


if __name__ == "__main__":
    main()
