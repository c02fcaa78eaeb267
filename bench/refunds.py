"""Headline figure: Magento credit memos made into ERP credit notes per second, end to end.

The sandboxes (Magento and the chosen ERP) serve from this process's threads; the engine runs as
`trueup sync orders --once` (not measured: it posts the orders that are then refunded) and then as
`trueup sync refunds --once`, the measured run: read the credit memos by key, post each credit note (half of
them with every line back to stock, booked with the credit note or by stock adjustment), record each and its
link. Prints one JSON line with credit_notes_per_s over that whole run (start-up included) and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import tempfile

from _rig import measured, posted_world
from trueup.sandbox.magento_refunds import refunds_of


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--refunds", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--erp", default="rest", help="which sandbox ERP takes the credit notes")
    args = parser.parse_args()

    # One refund per posted order, in full, every other one back to stock.
    with tempfile.TemporaryDirectory() as tmp, posted_world(args.refunds, args.seed, args.erp, tmp) as p:
        refunds = refunds_of(p.world.magento)
        for n, order_id in enumerate(p.orders):
            refunds.refund_by_hand(order_id, [], restock=n % 2 == 0, shipping=None)
        run = measured(p, "sync", "refunds", "--once")
        notes = sum(p.world.erp.credit_note_counts().values())
    print(
        json.dumps(
            {
                "erp": args.erp,
                "credit_memos": len(refunds.memos),
                "credit_notes": notes,
                "credit_notes_per_s": round(notes / run.seconds, 1),
                "seconds": round(run.seconds, 2),
                "peak_rss_mb": run.peak_rss_mb,
                "engine_cpu_s": run.cpu_s,
                "restocked_units": run.result["restocked_units"],
                "engine_summary": run.result["credit_notes"],
            }
        )
    )


if __name__ == "__main__":
    main()
