"""The catalogue flow end to end in one process: a hand-fed ERP item master, the real engine and store, and
the sandbox Magento's product API over HTTP, every request and answer validated against Adobe's published
schema (vendored in contracts/magento/). Only changed products are sent; a product Magento refuses parks
once per SKU; a merchandiser's description survives a sync (R-OWN-2); R-CAT-3 findings are exceptions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import msgspec
import pytest
from sqlalchemy import select

from tests.conftest import FakeClock
from trueup.connectors.http import Response
from trueup.connectors.magento.catalog import NEVER_SENT, MagentoCatalog
from trueup.connectors.magento.client import MagentoClient
from trueup.flows.catalog import CatalogFlow
from trueup.model.catalog import ITEM_KIND
from trueup.model.items import ErpItem
from trueup.runtime.backend import EmbeddedBackend, StoreExceptionQueue
from trueup.runtime.catalog_state import StoreCatalogState
from trueup.runtime.drift_findings import StoreDriftFindings
from trueup.runtime.engine import Engine, Schedule, Settings
from trueup.runtime.retry import RetryPolicy
from trueup.sandbox.magento import MagentoState, create_app
from trueup.sandbox.magento_catalog import CatalogState
from trueup.sandbox.magento_prices import PriceState
from trueup.sandbox.serve import ServerThread
from trueup.store import Store
from trueup.store.catalog import pushed_item_rows
from trueup.store.schema import work

CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "magento" / "magento_rest_subset.json"
SPEC = json.loads(CONTRACT.read_text())


def _nullable(node: Any) -> Any:
    """The schema has no null; real answers send it (contracts/magento/README.md)."""
    if isinstance(node, dict):
        out = {key: _nullable(value) for key, value in node.items()}
        if isinstance(node.get("type"), str):
            out["type"] = [node["type"], "null"]
        return out
    if isinstance(node, list):
        return [_nullable(value) for value in node]
    return node


DEFINITIONS = _nullable(SPEC["definitions"])
DEFINITIONS["error-parameters"] = {"type": ["array", "object", "null"]}


def validate(schema: Mapping[str, Any], value: Any) -> None:
    jsonschema.Draft4Validator({**schema, "definitions": DEFINITIONS}).validate(value)


def contract_checked(sink: MagentoCatalog) -> list[dict[str, Any]]:
    """Every request body the sink sends (as JSON), each request and answer checked against the schema."""
    sent: list[dict[str, Any]] = []
    original = sink.http.request

    async def request(method: str, path: str, **kwargs: Any) -> Response:
        template = "/V1/products" if path == "/V1/products" else "/V1/products/{sku}"
        op = SPEC["paths"][template][method.lower()]
        if kwargs.get("body") is not None:
            wire = json.loads(msgspec.json.Encoder(decimal_format="number").encode(kwargs["body"]))
            validate(next(p["schema"] for p in op["parameters"] if p["in"] == "body"), wire)
            sent.append(wire)
        resp = await original(method, path, **kwargs)
        answer = op["responses"].get(str(resp.status)) or op["responses"]["default"]
        validate(answer["schema"], resp.body)
        return resp

    sink.http.request = request  # type: ignore[method-assign]
    return sent


class ItemMaster:
    name = "erp"

    def __init__(self) -> None:
        self.listing: list[ErpItem] = []

    async def items(self) -> AsyncIterator[Sequence[ErpItem]]:
        yield list(self.listing)


@dataclass
class Rig:
    flow: CatalogFlow
    erp: ItemMaster
    magento: CatalogState
    prices: PriceState
    store: Store
    engine: Engine
    sent: list[dict[str, Any]]

    async def sync(self) -> dict[str, int]:
        return dict(await self.engine.drain(Schedule(self.flow, "erp", 60)))


@pytest.fixture
async def rig(db_url: str, clock: FakeClock) -> AsyncIterator[Rig]:
    prices = PriceState()
    catalog = CatalogState()
    server = ServerThread(create_app(MagentoState(), token="t", prices=prices, catalog=catalog))
    server.start()
    store = Store(db_url)
    backend = EmbeddedBackend(store, lease=timedelta(minutes=5), dead_after=timedelta(minutes=1))
    async with aiohttp.ClientSession() as session:
        sink = MagentoCatalog(MagentoClient(session, f"{server.url}/rest/default", "t"))
        sent = contract_checked(sink)
        erp = ItemMaster()
        flow = CatalogFlow(
            erp,
            sink,
            StoreCatalogState(backend),
            StoreExceptionQueue(backend, clock),
            batch_size=2,
            findings=StoreDriftFindings(backend, clock),
        )
        engine = Engine(backend, clock, RetryPolicy(0.01, 0.05, 5), Settings(batch_size=4))
        yield Rig(flow, erp, catalog, prices, store, engine, sent)
    backend.close()
    store.close()
    server.stop()


def master(n: int) -> list[ErpItem]:
    return [
        ErpItem(f"SKU{i}", f"ID{i}", barcode=f"50123456789{i:02d}", name=f"Item {i}", weight=Decimal("0.5"),
                attributes=(("size", "M"),))
        for i in range(n)
    ]  # fmt: skip


async def test_products_are_created_then_only_changes_sent(rig: Rig, clock: FakeClock) -> None:
    rig.erp.listing = master(5)
    await rig.sync()
    assert sorted(rig.magento.products) == [f"SKU{i}" for i in range(5)]
    product = rig.magento.products["SKU3"]
    assert (product["name"], product["status"], product["weight"]) == ("Item 3", 1, Decimal("0.5"))
    assert rig.magento.attribute("SKU3", "ean") == "5012345678903"
    assert rig.magento.attribute("SKU3", "size") == "M"
    assert rig.prices.products == {f"SKU{i}" for i in range(5)}  # prices can now be set for them
    assert (rig.flow.pushed, rig.flow.created, rig.flow.rejected) == (5, 5, 0)
    assert set(rig.store.counts(ITEM_KIND)) == {"done"}
    # one ledger row per batch, not per product
    assert (
        sum(rig.store.counts(ITEM_KIND).values()) == rig.flow.last_plan.batches if rig.flow.last_plan else 0
    )

    rig.erp.listing[1] = ErpItem("SKU1", "ID1", barcode="5012345678901", name="Item 1", active=False,
                                 weight=Decimal("0.5"), attributes=(("size", "M"),))  # fmt: skip
    clock.advance(60)
    sent = len(rig.sent)
    await rig.sync()
    assert rig.flow.last_plan is not None and rig.flow.last_plan.changed == 1
    assert rig.magento.products["SKU1"]["status"] == 2
    assert len(rig.sent) == sent + 1  # one PUT, nothing else written
    assert rig.flow.created == 5


async def test_a_merchandisers_description_survives_a_sync(rig: Rig, clock: FakeClock) -> None:
    """R-OWN-2: the storefront's people own descriptions, images and SEO; trueup never sends them."""
    rig.erp.listing = master(2)
    await rig.sync()
    own = [
        {"attribute_code": "description", "value": "<p>Hand-stitched in Leicester.</p>"},
        {"attribute_code": "url_key", "value": "item-zero-linen"},
        {"attribute_code": "meta_title", "value": "Linen shirt"},
    ]
    rig.magento.save({"sku": "SKU0", "custom_attributes": own})
    rig.erp.listing[0] = ErpItem("SKU0", "ID0", barcode="5012345678900", name="Item 0 renamed",
                                 weight=Decimal("0.5"), attributes=(("size", "M"),))  # fmt: skip
    clock.advance(60)
    await rig.sync()
    rig.flow.full = True
    clock.advance(60)
    await rig.sync()  # even a full push leaves them alone
    assert rig.magento.products["SKU0"]["name"] == "Item 0 renamed"
    assert rig.magento.attribute("SKU0", "description") == "<p>Hand-stitched in Leicester.</p>"
    assert rig.magento.attribute("SKU0", "url_key") == "item-zero-linen"
    assert rig.magento.attribute("SKU0", "meta_title") == "Linen shirt"
    for body in rig.sent:
        product = body["product"]
        assert not NEVER_SENT & set(product)
        assert not NEVER_SENT & {a["attribute_code"] for a in product.get("custom_attributes", [])}


async def test_a_refused_product_parks_once_and_the_rest_is_saved(rig: Rig, clock: FakeClock) -> None:
    long_sku = "X" * 70
    rig.erp.listing = [*master(3), ErpItem(long_sku, "IDX", name="Too long")]
    await rig.sync()
    assert long_sku not in rig.magento.products and len(rig.magento.products) == 3
    assert (rig.flow.pushed, rig.flow.rejected) == (3, 1)
    with rig.store.tx() as conn:
        assert set(pushed_item_rows(conn)) == {"SKU0", "SKU1", "SKU2"}
        row = conn.execute(select(work).where(work.c.reason == "item_rejected")).one()
    assert row.key == f"magento:item:{long_sku}" and "64 characters" in row.detail
    assert row.owner == "ecommerce" and "Resolution:" in row.detail
    clock.advance(60)
    await rig.sync()  # offered again, refused again: still one exception
    assert rig.store.counts_by_reason() == {"item_rejected": 1}


async def test_duplicate_renamed_and_bundle_skus_are_exceptions(rig: Rig, clock: FakeClock) -> None:
    rig.erp.listing = [ErpItem("OLD", "ID1", name="Mug"), ErpItem("A", "IDA"), ErpItem("B", "IDB")]
    await rig.sync()
    rig.erp.listing = [
        ErpItem("NEW", "ID1", name="Mug"),  # renamed in the ERP
        ErpItem("A", "IDA"),
        ErpItem("B", "IDB"),
        ErpItem("A-B", "IDAB"),  # a dynamic bundle's SKU
        ErpItem("DUP", "ID7"),
        ErpItem("DUP", "ID8"),
    ]
    clock.advance(60)
    await rig.sync()
    assert rig.store.counts_by_reason() == {"sku_renamed": 1, "dynamic_bundle_sku": 1, "duplicate_sku": 1}
    assert "NEW" in rig.magento.products and "OLD" in rig.magento.products  # nothing deleted
    assert "A-B" not in rig.magento.products and "DUP" not in rig.magento.products
    clock.advance(60)
    await rig.sync()  # seen again: still one exception each
    assert rig.store.counts_by_reason() == {"sku_renamed": 1, "dynamic_bundle_sku": 1, "duplicate_sku": 1}

    # The ERP team gives one DUP its own SKU: the duplicate clears itself (a standing finding), and comes
    # back as an open exception if the item master goes wrong again.
    rig.erp.listing[-1] = ErpItem("DUP-2", "ID8")
    clock.advance(60)
    await rig.sync()
    assert rig.store.counts_by_reason() == {"sku_renamed": 1, "dynamic_bundle_sku": 1}
    assert "DUP" in rig.magento.products
    rig.erp.listing[-1] = ErpItem("DUP", "ID8")
    clock.advance(60)
    await rig.sync()
    assert rig.store.counts_by_reason() == {"sku_renamed": 1, "dynamic_bundle_sku": 1, "duplicate_sku": 1}
