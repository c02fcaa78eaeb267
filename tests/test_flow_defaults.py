"""The storefront-side flows default to off and `trueup init` turns them on, as README.md and
docs/configuration.md say: an upgraded deployment never starts managing a store's stock, prices or
products unasked."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

from trueup.config import CatalogConfig, PricesConfig, StockConfig, example_config, parse_config

REPO = Path(__file__).resolve().parents[1]


def test_stock_prices_and_products_are_off_by_default_and_init_turns_them_on() -> None:
    assert not StockConfig().enabled and not PricesConfig().enabled and not CatalogConfig().enabled
    written = parse_config(tomllib.loads(example_config(datetime(2026, 11, 29, 9))))
    assert written.stock.enabled and written.prices.enabled and written.catalog.enabled
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "`enabled = true`, which is what `trueup init` writes" in readme
    page = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page.count("| `enabled` | `false` (`trueup init` writes `true`) |") >= 3
