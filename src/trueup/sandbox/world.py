"""A sandbox world: the Magento and REST ERP emulators loaded with one scenario, served on loopback.

Used by `trueup demo`, the end-to-end tests and the benchmarks, in-process (threads) or as a separate
process (`python -m trueup.sandbox.world`), so that the engine can be measured on its own.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from trueup.sandbox.faults import Faults
from trueup.sandbox.magento import MagentoState
from trueup.sandbox.magento import create_app as magento_app
from trueup.sandbox.rest_erp import RestErpState
from trueup.sandbox.rest_erp import create_app as erp_app
from trueup.sandbox.scenario import TIME, FaultMix, Scenario, capture_payment, generate
from trueup.sandbox.serve import ServerThread


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def trading_day(seed: int, orders: int, *, faults: FaultMix | None = None) -> Scenario:
    """Orders placed over the last ten hours, the newest a few minutes ago."""
    now = utcnow().replace(microsecond=0)
    return generate(
        seed, orders, start=now - timedelta(hours=10), end=now - timedelta(minutes=5), faults=faults
    )


@dataclass
class World:
    scenario: Scenario
    magento_token: str = field(default_factory=lambda: secrets.token_hex(16))
    erp_token: str = field(default_factory=lambda: secrets.token_hex(16))
    magento_faults: Faults = field(default_factory=Faults)
    erp_faults: Faults = field(default_factory=Faults)
    enforce_unique: bool = True

    def __post_init__(self) -> None:
        self.magento = MagentoState(self.scenario.orders)
        self.erp = RestErpState(enforce_unique=self.enforce_unique)
        self.erp.add_items(self.scenario.erp_items)
        self._servers: list[ServerThread] = []

    def start(self) -> None:
        self._servers = [
            ServerThread(magento_app(self.magento, token=self.magento_token, faults=self.magento_faults)),
            ServerThread(erp_app(self.erp, token=self.erp_token, faults=self.erp_faults)),
        ]
        for server in self._servers:
            server.start()

    def stop(self) -> None:
        for server in self._servers:
            server.stop()

    @property
    def magento_url(self) -> str:
        return f"{self._servers[0].url}/rest/default"

    @property
    def erp_url(self) -> str:
        return f"{self._servers[1].url}/api/v1"

    def capture_pending(self) -> int:
        """Later in the day the pending payments are captured: Magento updates those orders."""
        at = utcnow().strftime(TIME)
        for entity_id in self.scenario.pending:
            order = self.magento.get(entity_id)
            if order is not None:
                self.magento.update_order(entity_id, capture_payment(order), at)
        return len(self.scenario.pending)

    def erp_order_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for so in self.erp.sales_orders.values():
            counts[so["external_id"]] = counts.get(so["external_id"], 0) + 1
        return counts


def main(argv: list[str] | None = None) -> None:
    """Serve a world in the foreground; print its URLs and tokens as one JSON line, then block."""
    parser = argparse.ArgumentParser(prog="python -m trueup.sandbox.world")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clean", action="store_true", help="no deliberately bad orders")
    parser.add_argument("--erp-error-rate", type=float, default=0.0)
    parser.add_argument("--no-unique", action="store_true", help="the ERP accepts duplicate external ids")
    args = parser.parse_args(argv)
    world = World(
        trading_day(args.seed, args.orders, faults=FaultMix.none() if args.clean else None),
        erp_faults=Faults(error_rate=args.erp_error_rate, seed=args.seed),
        enforce_unique=not args.no_unique,
    )
    world.start()
    print(
        json.dumps(
            {
                "magento_url": world.magento_url,
                "erp_url": world.erp_url,
                "magento_token": world.magento_token,
                "erp_token": world.erp_token,
                "expected": dict(world.scenario.expected_counts()),
            }
        ),
        flush=True,
    )
    try:
        sys.stdin.read()  # serve until our parent closes our stdin (or Ctrl-D)
    finally:
        world.stop()


if __name__ == "__main__":
    main()
