"""`trueup sandbox serve`: the sandbox Magento and a sandbox ERP on 127.0.0.1, with a real store's items.

An integrator loads the store's item master (a CSV, `trueup.sandbox.item_master`) into the sandbox of the
ERP they will connect, and runs trueup against it before go-live: which SKUs map, which orders would park.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from trueup.cli.common import JsonOpt, app, fail, stop_on_signals, wait_for_interrupt

sandbox_app = typer.Typer(
    no_args_is_help=True, help="Sandbox systems on 127.0.0.1, to try trueup before connecting real ones."
)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("serve")
def serve(
    erp: Annotated[str, typer.Option(help="The ERP sandbox: rest, stokly, prima, merret or files.")] = "rest",
    items: Annotated[
        Path | None,
        typer.Option(
            help="The ERP's item master as CSV: sku,name,barcode,active[,item_id]. "
            "Without it, the generated catalogue's items."
        ),
    ] = None,
    orders: Annotated[int, typer.Option(min=0, help="Generated orders to put in the sandbox Magento.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the generated orders and catalogue.")] = 1,
    workdir: Annotated[
        Path, typer.Option(help="Where the ready trueup.toml, sandbox.env and the database go.")
    ] = Path(".trueup-sandbox"),
    as_json: JsonOpt = False,
) -> None:
    """Serve the sandbox Magento and ERP until Ctrl-C or SIGTERM, with a trueup.toml pointing at them."""
    from trueup.sandbox.erps import SANDBOXES
    from trueup.sandbox.item_master import ItemMasterError, read_item_master
    from trueup.sandbox.world import World, trading_day

    if erp not in SANDBOXES:
        fail(f"--erp {erp!r}: expected one of {', '.join(SANDBOXES)}")
    scenario = trading_day(seed, orders)
    if items is not None:
        try:
            scenario = replace(scenario, erp_items=read_item_master(items, erp_kind=erp))
        except ItemMasterError as exc:
            fail(f"--items {exc}")
    world = World(scenario, erp_kind=erp)
    # Signals stop the sandbox cleanly from here on, even one that lands while the servers start.
    with stop_on_signals():
        world.start()
        try:
            summary = _write_deployment(world, workdir)
            summary.update(items=len(scenario.erp_items), orders=len(scenario.orders))
            if as_json:
                print(json.dumps(summary), flush=True)
            else:
                _print_summary(summary)
            wait_for_interrupt()
        finally:
            world.stop()


def _write_deployment(world: Any, workdir: Path) -> dict[str, Any]:
    """trueup.toml and sandbox.env for this world. The database starts empty, as the sandboxes do: a ledger
    left from an earlier run would hold orders this Magento never had."""
    from trueup.config import dump_toml

    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "trueup.db"
    for stale in workdir.glob("trueup.db*"):
        stale.unlink()
    config = workdir / "trueup.toml"
    config.write_text(dump_toml(world.config(f"sqlite:///{database.absolute()}")), encoding="utf-8")
    env = world.env()
    env_file = workdir / "sandbox.env"
    env_file.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()), encoding="utf-8")
    erp = world.erp.erp_config()
    return {
        "config": str(config.absolute()),
        "env_file": str(env_file.absolute()),
        "env": env,
        "magento_url": world.magento_url,
        "erp_kind": erp["kind"],
        "erp_url": erp.get("base_url") or _files_location(erp),
    }


def _files_location(erp: dict[str, Any]) -> str:
    options = erp.get(erp["kind"], {})
    if options.get("transport") == "sftp":
        return f"sftp://{options.get('username')}@{options.get('host')}:{options.get('port')}/{options.get('root')}"
    return str(options.get("root", ""))


def _print_summary(summary: dict[str, Any]) -> None:
    out = Console()
    out.print(
        f"[bold]Sandboxes up[/] with {summary['items']} ERP items and {summary['orders']} Magento orders,"
        " until Ctrl-C."
    )
    for line in (
        f"  Magento:  {summary['magento_url']}",
        f"  ERP ({summary['erp_kind']}):  {summary['erp_url']}",
        f"  config:   {summary['config']}",
        "In another shell:",
        f"  source {summary['env_file']}",
        f"  trueup -c {summary['config']} sync items",
        f"  trueup -c {summary['config']} sync orders --once",
    ):
        out.print(line, markup=False, soft_wrap=True)
