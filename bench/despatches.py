"""Headline figure: ERP despatches made into Magento shipments per second, end to end.

The sandboxes (Magento and the chosen ERP) serve from this process's threads; the engine runs as
`trueup sync orders --once` (not measured: it posts the orders the warehouse then despatches) and then as
`trueup sync despatches --once`, the measured run: read the despatches by the ERP's cursor, read each order
and its shipments from Magento, ship with tracking, record each shipment and its link. Prints one JSON line
with shipments_per_s over that whole run (start-up included) and the engine's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import tempfile

from _rig import measured, posted_world
from trueup.sandbox.despatch_day import DespatchMix, despatch_posted
from trueup.sandbox.magento_shipping import shipping_of


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--despatches", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--erp", default="rest", help="which sandbox ERP despatches")
    args = parser.parse_args()

    # One despatch per order (no partials), so that `--despatches` orders give that many despatches.
    with tempfile.TemporaryDirectory() as tmp, posted_world(args.despatches, args.seed, args.erp, tmp) as p:
        mix = DespatchMix(partial=0.0, manual=0.0, unmapped=0.0)
        day = despatch_posted(
            p.world.magento, p.world.erp, p.world.scenario.carriers, p.orders, seed=args.seed, mix=mix
        )
        run = measured(p, "sync", "despatches", "--once")
        shipments = len(shipping_of(p.world.magento).shipments)
    print(
        json.dumps(
            {
                "despatches": day.despatches,
                "shipments": shipments,
                "shipments_per_s": round(shipments / run.seconds, 1),
                "seconds": round(run.seconds, 2),
                "peak_rss_mb": run.peak_rss_mb,
                "engine_cpu_s": run.cpu_s,
                "engine_cpu_us_per_shipment": round(run.cpu_s / max(shipments, 1) * 1e6),
                "engine_summary": run.result["shipments"],
            }
        )
    )


if __name__ == "__main__":
    main()
