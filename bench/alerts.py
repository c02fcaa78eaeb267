"""Alert task throughput: 10,000 parked exceptions (three owner teams, five reasons) scanned into the
outbox and delivered over real SMTP (aiosmtpd on loopback), then a second pass that must send nothing.

Prints one JSON line: exceptions, seconds for the scan and for the delivery, messages sent (bursts fold
into alert + digest), and the second pass's messages (0: nothing twice).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from trueup.alerts.settings import AlertsConfig
from trueup.alerts.task import AlertTask
from trueup.model.exceptions import Reason
from trueup.model.work import NewWork, Problem
from trueup.sandbox.smtp import SmtpSink
from trueup.store import Store

REASONS = (
    Reason.TAX_VARIANCE,
    Reason.UNKNOWN_SKU,
    Reason.ADDRESS_TOO_LONG,
    Reason.UNMAPPED_CARRIER,
    Reason.INACTIVE_SKU,
)


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)


async def main(count: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, SmtpSink() as sink:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        now = Clock().now()
        rows = [
            NewWork(
                "order.post",
                f"{n:09d}",
                "orders",
                f"order:{n}",
                "{}",
                "1",
                parked=Problem.of(REASONS[n % len(REASONS)], f"order {n:09d}: bench."),
            )
            for n in range(count)
        ]
        for start in range(0, count, 1000):
            store.enqueue(rows[start : start + 1000], now)
        routes = {t: {"email": [f"{t}@bench.test"]} for t in ("finance", "ecommerce", "warehouse")}
        config = AlertsConfig.model_validate({"smtp": sink.config(), "routes": routes})
        task = AlertTask(store, config, Clock())
        began = time.perf_counter()
        queued = task.scan()
        scanned = time.perf_counter()
        result = await task.deliver()
        delivered = time.perf_counter()
        again = await task.sync()
        store.close()
        return {
            "exceptions": count,
            "queued": queued,
            "scan_s": round(scanned - began, 3),
            "deliver_s": round(delivered - scanned, 3),
            "messages": sum(result.sent.values()),
            "alerts": result.alerts,
            "digests": result.digests,
            "emails_received": len(sink.messages),
            "second_pass_messages": sum(again.sent.values()),
        }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--exceptions", type=int, default=10_000)
    print(json.dumps(asyncio.run(main(parser.parse_args().exceptions))))
