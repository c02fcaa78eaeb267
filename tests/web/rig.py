"""A small world for the dashboard's tests: a SQLite store with exceptions of each team, and users."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher

from trueup.model.exceptions import Reason
from trueup.model.work import NewWork, Problem
from trueup.store import Store
from trueup.web import auth

START = datetime(2026, 11, 23, 9, 0, 0)
# argon2 at its production cost takes ~0.1 s a hash; the tests hash many passwords, at a cheap cost
auth._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORDS = {role: f"{role}-password-1" for role in auth.ROLES}


def order_payload(order_id: str, email: str, postcode: str, method: str = "flatrate_flatrate") -> str:
    return json.dumps(
        {
            "order_id": order_id,
            "currency": "GBP",
            "grand_total": "24.00",
            "created_at": "2026-11-23T08:00:00",
            "shipping_method": method,
            "customer": {"email": email, "first_name": "Jane", "last_name": "Doe"},
            "shipping_address": {
                "first_name": "Jane",
                "last_name": "Doe",
                "street": ["1 High Street"],
                "city": "London",
                "postcode": postcode,
                "country": "GB",
                "phone": "+44 20 7946 0000",
                "email": email,
            },
            "lines": [{"sku": f"SKU-{order_id}", "qty": 2}],
        }
    )


def parked_order(
    order_id: str, reason: Reason, email: str = "jane@example.com", postcode: str = "SW1A 1AA"
) -> NewWork:
    problem = Problem.of(reason, f"Order {order_id}: {reason}.", impact_minor=2400, currency="GBP")
    return NewWork(
        "order.post",
        order_id,
        "orders",
        f"order:{order_id}",
        order_payload(order_id, email, postcode),
        "1",
        problem,
    )


def seed(path: Path) -> Store:
    """Three open exceptions: a warehouse one (unmapped carrier), a finance one, an ecommerce one; one posted
    order (with its ERP link) and its despatch, for the trace; a user of every role."""
    store = Store(f"sqlite:///{path}")
    store.enqueue(
        [
            parked_order("100000001", Reason.UNMAPPED_CARRIER, "wendy@example.com", "EC1A 1BB"),
            parked_order("100000002", Reason.TAX_VARIANCE),
            parked_order("100000003", Reason.UNKNOWN_SKU),
            NewWork(
                "order.post",
                "100000004",
                "orders",
                "order:100000004",
                order_payload("100000004", "cara@example.com", "M1 1AE"),
                "1",
            ),
            NewWork(
                "despatch.ship",
                "erp:DN-4",
                "fulfilment",
                "despatch:100000004",
                json.dumps(
                    {
                        "despatch_id": "DN-4",
                        "order_id": "100000004",
                        "carrier": "RM",
                        "service": "TRACKED48",
                        "tracking_numbers": ["TRK4"],
                    }
                ),
                "1",
            ),
        ],
        START,
    )
    with store.tx() as conn:
        from sqlalchemy import insert, update

        from trueup.store.schema import links, work

        conn.execute(
            update(work).where(work.c.key.in_(["100000004", "erp:DN-4"])).values(status="done", result="SO-4")
        )
        conn.execute(
            insert(links).values(
                kind="order",
                storefront="magento",
                external_id="100000004",
                erp="rest",
                erp_ref="SO-4",
                created_at=START,
            )
        )
        for role, password in PASSWORDS.items():
            auth.add_user(conn, role, role, password, START)
    return store


def ids_by_key(store: Store) -> dict[str, int]:
    from sqlalchemy import select

    from trueup.store.schema import work

    with store.tx() as conn:
        return {str(k): int(i) for i, k in conn.execute(select(work.c.id, work.c.key))}
