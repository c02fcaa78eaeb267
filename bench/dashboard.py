"""Headline figure: latency of a filtered page of the dashboard's exception list over 100,000 exceptions.

Seeds a SQLite store directly with `--exceptions` open exceptions (reasons and teams mixed, each with an
order payload), then requests pages through the real application (FastAPI, authentication, the queue
adapter, the Jinja2 template) in-process, as a logged-in user with a bearer token. Three requests:
  page    the HTML list filtered by team and reason (the target: p95 <= 200 ms)
  search  the HTML list searched by SKU
  api     the JSON API's filtered page
Prints one JSON object with p50 and p95 milliseconds of each.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert

from trueup.model.exceptions import REASONS, Reason
from trueup.store import Store
from trueup.store.schema import work
from trueup.web import auth
from trueup.web.app import Web, create_app

START = datetime(2026, 11, 23, 9, 0, 0)


def seed(store: Store, n: int, rng: random.Random) -> None:
    reasons = list(Reason)
    rows = []
    for i in range(n):
        reason = rng.choice(reasons)
        order = f"{i + 1:09d}"
        sku = f"SKU-{rng.randrange(5000):05d}"
        payload = json.dumps({"order_id": order, "lines": [{"sku": sku, "qty": rng.randint(1, 4)}]})
        at = START - timedelta(minutes=rng.randrange(60 * 24 * 14))
        rows.append(
            {
                "kind": "order.post",
                "key": order,
                "lane": "orders",
                "lock": f"order:{order}",
                "payload": payload,
                "source_version": "1",
                "status": "parked",
                "attempts": 1,
                "next_at": at,
                "reason": str(reason),
                "owner": str(REASONS[reason].owner),
                "system": "storefront",
                "detail": f"Order {order}: {reason} on {sku}.",
                "error_band": "skippable",
                "impact_minor": rng.randrange(100, 50_000),
                "currency": "GBP",
                "created_at": at,
                "updated_at": at,
            }
        )
        if len(rows) == 10_000:
            with store.tx() as conn:
                conn.execute(insert(work), rows)
            rows = []
    if rows:
        with store.tx() as conn:
            conn.execute(insert(work), rows)


def timed(client: TestClient, url: str, headers: dict[str, str], runs: int) -> dict[str, float]:
    client.get(url, headers=headers)  # warm: templates compiled, pages of the file cached
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        answer = client.get(url, headers=headers)
        samples.append((time.perf_counter() - t0) * 1000)
        assert answer.status_code == 200, answer.text[:200]
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exceptions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        t0 = time.perf_counter()
        seed(store, args.exceptions, rng)
        seeded_s = time.perf_counter() - t0
        with store.tx() as conn:
            auth.add_user(conn, "bench", "warehouse", "bench-password", START)
            token = auth.new_token(conn, "bench", "bench", START)
        headers = {"authorization": f"Bearer {token}", "accept": "text/html"}
        with TestClient(create_app(Web(store, clock=lambda: START))) as client:
            page = timed(client, "/exceptions?owner=warehouse&reason=unmapped_carrier", headers, args.runs)
            search = timed(client, "/exceptions?q=SKU-00042", headers, args.runs)
            api = timed(client, "/api/v1/exceptions?owner=finance&limit=50", headers, args.runs)
        store.close()
    print(
        json.dumps(
            {
                "bench": "dashboard",
                "exceptions": args.exceptions,
                "runs": args.runs,
                "seed_s": round(seeded_s, 1),
                "filtered_page": page,
                "search_by_sku": search,
                "api_page": api,
                "target_p95_ms": 200,
                "meets_target": page["p95_ms"] <= 200,
            }
        )
    )


if __name__ == "__main__":
    main()
