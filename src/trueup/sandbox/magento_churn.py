"""A live store under an integration's feet: orders change and arrive between its page requests.

Before each order-list request, `OrderChurn` updates some orders the integration has already been served
(a status change, an invoice, a comment: Magento sets `updated_at`) and adds new orders. This is what made
offset paging over `updated_at` skip orders: each touched order leaves its place and every later order
shifts one place towards the front. Seeded, so a run can be repeated.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from trueup.sandbox.magento import MagentoState

TIME = "%Y-%m-%d %H:%M:%S"


def wall_clock() -> str:
    return datetime.now(UTC).strftime(TIME)


class OrderChurn:
    """Touch `touches` already-served orders and add `arrivals` new ones before every order-list request.

    `clock` gives the `updated_at` Magento would write (the wall clock by default). New orders copy a
    template order (`template`, or a random existing one) under the next entity id and a fresh increment
    id. What was touched and what arrived is recorded, for the test to check against."""

    def __init__(
        self,
        *,
        touches: int = 0,
        arrivals: int = 0,
        seed: int = 0,
        clock: Callable[[], str] = wall_clock,
        template: Callable[[random.Random], dict[str, Any]] | None = None,
    ) -> None:
        self.touches = touches
        self.arrivals = arrivals
        self.rng = random.Random(seed)
        self.clock = clock
        self.template = template
        self.served: list[int] = []
        self._served_set: set[int] = set()
        self.touched: list[int] = []
        self.arrived: list[str] = []  # increment ids of the new orders
        self.requests = 0

    def before_list(self, state: MagentoState) -> None:
        self.requests += 1
        now = self.clock()
        for entity_id in self.rng.sample(self.served, min(self.touches, len(self.served))):
            state.update_order(entity_id, {"status": state_status(state, entity_id)}, now)
            self.touched.append(entity_id)
        for _ in range(self.arrivals):
            self.arrived.append(self._add(state, now))

    def after_list(self, state: MagentoState, served: Sequence[int]) -> None:
        for entity_id in served:
            if entity_id not in self._served_set:
                self._served_set.add(entity_id)
                self.served.append(entity_id)

    def _add(self, state: MagentoState, now: str) -> str:
        if self.template is not None:
            order = self.template(self.rng)
        else:
            ids = [o["entity_id"] for o in state]
            if not ids:
                raise ValueError("OrderChurn needs a template to add orders to an empty store")
            order = copy.deepcopy(state.get(self.rng.choice(ids)) or {})
        entity_id = max((o["entity_id"] for o in state), default=0) + 1
        increment_id = f"9{entity_id:08d}"
        order.update(entity_id=entity_id, increment_id=increment_id, created_at=now, updated_at=now)
        state.add_order(order)
        return increment_id


def state_status(state: MagentoState, entity_id: int) -> str:
    """The order's status, unchanged: what changed is that something touched the order (a comment)."""
    order = state.get(entity_id) or {}
    return str(order.get("status") or "processing")
