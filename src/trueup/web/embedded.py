"""The dashboard served inside `trueup run --dashboard-port`: it then shows the engine's live circuit
states (runtime/breaker.py), which a separate `trueup serve` process cannot see."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from trueup.store import Store


def breaker_states(engine: Any) -> dict[str, str]:
    """System → "ok" or "down" ("down" if any of its activities' breakers is open)."""
    states: dict[str, str] = {}
    for _ in range(3):  # the engine's thread may add a breaker while this one reads: read again
        try:
            breakers = list(engine.breakers.values())
            break
        except RuntimeError:
            continue
    else:
        return {}
    for b in breakers:
        states[b.system] = "down" if b.is_open or states.get(b.system) == "down" else "ok"
    return states


@contextmanager
def serve_dashboard(dep: Any, port: int) -> Iterator[None]:
    from trueup.cli.common import console
    from trueup.queue import QueueActions
    from trueup.sandbox.serve import ServerThread
    from trueup.web.app import Web, create_app

    # its own connections: the engine's store belongs to the engine's database thread
    store = Store(dep.store.url, create=False, cipher=dep.store.cipher)
    flow = dep.config.flows.orders
    queue = QueueActions(store, line_tax_tolerance=flow.line_tax_tolerance, tax_tolerance=flow.tax_tolerance)
    web = Web(store, breakers=lambda: breaker_states(dep.engine), queue=queue)
    try:
        with ServerThread(create_app(web), port=port) as server:
            console.print(f"dashboard on {server.url}/")
            yield
    finally:
        store.close()
