"""The dashboard's read-only figures: flow health with the engine's circuit states, the charts' series."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from tests.web.rig import START
from trueup.runtime.breaker import Breaker
from trueup.runtime.retry import RetryPolicy
from trueup.store import Store
from trueup.web import charts, insight
from trueup.web.embedded import breaker_states


def test_circuit_state_comes_from_the_engines_breakers(store: Store) -> None:
    erp = Breaker("erp", RetryPolicy(), lambda _e: None, activity="post orders", threshold=2)
    magento = Breaker("magento", RetryPolicy(), lambda _e: None, activity="read orders")
    engine = SimpleNamespace(breakers={("erp", "post"): erp, ("magento", "read"): magento})
    assert breaker_states(engine) == {"erp": "ok", "magento": "ok"}
    erp.failure("503")
    erp.failure("503")
    assert breaker_states(engine) == {"erp": "down", "magento": "ok"}
    with store.tx() as conn:
        flows = insight.flow_health(conn, START, lambda: breaker_states(engine))
        unknown = insight.flow_health(conn, START)
    orders = next(f for f in flows if f["flow"] == "order.post")
    assert orders["circuit"] == "down: erp" and orders["open_exceptions"] == 3
    assert orders["error_rate"] == 0.0  # bad records parked for a person are not failures of the flow
    assert {f["circuit"] for f in unknown} == {"unknown"}


def test_overview_and_series_per_team(store: Store) -> None:
    with store.tx() as conn:
        teams = {t["team"]: t for t in insight.overview(conn, START + timedelta(hours=3))}
        series = insight.over_time(conn, START, days=7)
    assert teams["warehouse"]["reasons"] == {"unmapped_carrier": 1}
    assert teams["finance"]["money_at_risk"] == {"GBP": "GBP 24.00"}
    assert teams["ecommerce"]["units_at_risk"] == 2 and teams["ecommerce"]["oldest_age_hours"] == 3.0
    assert series == {"ecommerce": [0] * 6 + [1], "finance": [0] * 6 + [1], "warehouse": [0] * 6 + [1]}
    svg = charts.stacked_days(series, START)
    assert svg.startswith("<svg") and svg.count("<rect") == 3 + 3  # three bars, three legend keys
    assert "<title>warehouse" in svg
