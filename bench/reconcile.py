"""Sales-to-ledger reconciliation on a million orders: trueup's engine against datacompy (pandas backend).

The parent generates the books once (`trueup.checks.reconcile_sample`: 1,000,000 orders, about 2.5M lines,
refunds on one order in twenty, one ERP invoice in ten split in two, `--per-kind` injected differences of
each kind) and writes them as Arrow IPC files. Each side then runs in its own process, so that its peak RSS
is its own: it reads the four frames, and the measured part is the comparison alone.

- trueup: `reconcile(storefront, erp)` (best and median of `--repeat` runs are printed; `seconds` is the
  median wall time, `cpu_seconds` the median CPU time of the process, steadier on a shared machine).
- datacompy: the same comparison a person would write with `datacompy.PandasCompare`: documents summed per
  order and kind (datacompy needs unique join keys; an ERP that invoices per despatch posts several), one
  compare of the documents on (order_id, kind) and one of the lines on (order_id, line_no), and the same
  classification read from its output (unique rows, `<column>_match`). Its counts must equal trueup's.

Prints one JSON object: orders, lines, seconds, peak_rss_mb, findings, and `datacompy` with its own figures.
datacompy pins polars < 1.45 while trueup uses polars 2, so `make bench` installs it with --no-deps.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from trueup.checks import reconcile as r
from trueup.checks.reconcile_sample import sample_books

FRAMES = ("sf_docs", "sf_lines", "erp_docs", "erp_lines")


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _load(folder: Path) -> dict[str, pl.DataFrame]:
    return {name: pl.read_ipc(folder / f"{name}.arrow") for name in FRAMES}


def run_trueup(folder: Path, repeat: int) -> dict[str, object]:
    f = _load(folder)
    sf, erp = r.Books(f["sf_docs"], f["sf_lines"]), r.Books(f["erp_docs"], f["erp_lines"])
    runs, cpu, findings = [], [], pl.DataFrame()
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        findings = r.reconcile(sf, erp)
        runs.append(round(time.perf_counter() - start, 3))
        cpu.append(round(time.process_time() - start_cpu, 3))
    return {
        "seconds": statistics.median(runs),
        "best_seconds": min(runs),
        "runs": runs,
        "cpu_seconds": statistics.median(cpu),  # steadier than wall time on a shared machine
        "peak_rss_mb": _peak_mb(),
        "findings": r.counts(findings),
        "money_at_risk_minor": int(findings["money_at_risk"].sum()),
    }


def run_datacompy(folder: Path) -> dict[str, object]:
    import pandas as pd
    from datacompy import PandasCompare

    f = {
        name: pd.DataFrame({c: s.to_numpy() for c, s in df.to_dict().items()})
        for name, df in _load(folder).items()
    }
    tol = r.Tolerances()
    start, start_cpu = time.perf_counter(), time.process_time()
    money = ["net", "tax", "shipping", "discount", "gross"]

    def fold(docs: pd.DataFrame) -> pd.DataFrame:
        groups = docs.groupby(["order_id", "kind"], sort=False)
        return groups[money].sum(min_count=1).join(groups["currency"].first()).reset_index()

    docs = PandasCompare(
        fold(f["sf_docs"]), fold(f["erp_docs"]), join_columns=["order_id", "kind"], abs_tol=tol.money_minor
    )
    lines = PandasCompare(
        f["sf_lines"][["order_id", "line_no", "sku", "qty"]],
        f["erp_lines"][["order_id", "line_no", "sku", "qty"]],
        join_columns=["order_id", "line_no"],
        abs_tol=tol.quantity,
    )
    found: dict[str, int] = {}
    only_sf, only_erp, both = docs.df1_unq_rows, docs.df2_unq_rows, docs.intersect_rows
    inv, crn = both[both["kind"] == r.INVOICE], both[both["kind"] == r.CREDIT]
    found[r.ORPHANED] = int((only_sf["kind"] == r.INVOICE).sum())
    found[r.NO_CREDIT] = int((only_sf["kind"] == r.CREDIT).sum())
    found[r.UNKNOWN] = len(only_erp)
    found[r.NET] = int((~inv["net_match"]).sum())
    found[r.SHIPPING] = int((~inv["shipping_match"]).sum())
    found[r.DISCOUNT] = int((~inv["discount_match"]).sum())
    found[r.CREDIT_DIFF] = int((~crn["net_match"] | ~crn["tax_match"]).sum())
    taxed = inv[~inv["tax_match"]]
    sf_lines = f["sf_lines"]
    n_lines = sf_lines[sf_lines["order_id"].isin(taxed["order_id"])].groupby("order_id").size()
    allowance = taxed["order_id"].map(n_lines).fillna(1).clip(lower=1) * tol.tax_rounding_minor_per_line
    rounding = (taxed["tax_df1"] - taxed["tax_df2"]).abs() <= allowance
    found[r.ROUNDING], found[r.TAX] = int(rounding.sum()), int((~rounding).sum())
    # A line on one side only counts where the other side holds lines for that order.
    l_sf, l_erp, l_both = lines.df1_unq_rows, lines.df2_unq_rows, lines.intersect_rows
    erp_held = f["erp_lines"]["order_id"][f["erp_lines"]["order_id"].isin(l_sf["order_id"])].unique()
    sf_held = sf_lines["order_id"][sf_lines["order_id"].isin(l_erp["order_id"])].unique()
    one_sided = int(l_sf["order_id"].isin(erp_held).sum() + l_erp["order_id"].isin(sf_held).sum())
    found[r.SKU] = int((~l_both["sku_match"]).sum()) + one_sided
    found[r.QUANTITY] = int((l_both["sku_match"] & ~l_both["qty_match"]).sum())
    seconds, cpu = round(time.perf_counter() - start, 3), round(time.process_time() - start_cpu, 3)
    counts = {str(k): found[k] for k in r.KINDS}
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": _peak_mb(), "findings": counts}


def _seconds(side: dict[str, object]) -> float:
    seconds = side["seconds"]
    assert isinstance(seconds, int | float)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--per-kind", type=int, default=1000, help="injected differences of each kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--side", choices=("trueup", "datacompy"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side == "trueup":
        print(json.dumps(run_trueup(args.data, args.repeat)))
        return
    if args.side == "datacompy":
        print(json.dumps(run_datacompy(args.data)))
        return
    sample = sample_books(args.orders, {str(k): args.per_kind for k in r.KINDS}, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="trueup-reconcile-") as tmp:
        folder = Path(tmp)
        frames = dict(
            zip(
                FRAMES,
                (
                    sample.storefront.documents,
                    sample.storefront.lines,
                    sample.erp.documents,
                    sample.erp.lines,
                ),
                strict=True,
            )
        )
        for name, frame in frames.items():
            assert frame is not None
            frame.write_ipc(folder / f"{name}.arrow")
        lines = sample.storefront.lines.height if sample.storefront.lines is not None else 0
        injected = sample.expected.group_by("reason").len()
        del sample, frames

        def side(name: str) -> dict[str, object]:
            cmd = [
                sys.executable,
                __file__,
                "--side",
                name,
                "--data",
                str(folder),
                "--repeat",
                str(args.repeat),
            ]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode:
                raise SystemExit(f"{name} failed:\n{run.stderr[-3000:]}")
            out = run.stdout
            return dict(json.loads(out.strip().splitlines()[-1]))

        ours = side("trueup")
        theirs = side("datacompy")
    expected = {str(k): 0 for k in r.KINDS} | dict(injected.iter_rows())
    result = {
        "orders": args.orders,
        "lines": lines,
        **ours,
        "exact": ours["findings"] == expected,
        "datacompy": theirs | {"same_counts": theirs["findings"] == ours["findings"]},
        "speedup_vs_datacompy": round(_seconds(theirs) / _seconds(ours), 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
