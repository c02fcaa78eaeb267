"""The composition root: one deployment's config turned into connectors, flows and an engine.

This is the only module (with the CLI) that knows both connectors and flows; flows get ports from here.
"""

from __future__ import annotations

import fcntl
import importlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

import aiohttp
from sqlalchemy.engine import make_url

from trueup.checks.orphans import OrphanRules
from trueup.checks.sweep import OrphanSweep, SweepSettings
from trueup.config import Config, ErpConfig
from trueup.connectors.http import tls_context
from trueup.connectors.magento.auth import magento_auth
from trueup.connectors.magento.cancellations import MagentoCancellations
from trueup.connectors.magento.catalog import MagentoCatalog
from trueup.connectors.magento.client import MagentoClient
from trueup.connectors.magento.connector import MagentoOrders
from trueup.connectors.magento.creditmemos import MagentoCreditMemos
from trueup.connectors.magento.index import MagentoOrderIndex
from trueup.connectors.magento.invoices import MagentoInvoices
from trueup.connectors.magento.prices import MagentoPrices
from trueup.connectors.magento.shipments import MagentoShipments
from trueup.connectors.magento.short_refunds import MagentoOfflineRefunds
from trueup.connectors.magento.stock import MagentoStock
from trueup.errors import Fatal
from trueup.flows.acks import AckPolicy
from trueup.flows.cancellations import CancellationFlow
from trueup.flows.catalog import CatalogFlow
from trueup.flows.fulfilment import FulfilmentFlow, FulfilmentRules
from trueup.flows.items import ItemFlow
from trueup.flows.orders import KIND, LINK_KIND, OrderFlow, OrderRules, observed_work
from trueup.flows.prices import PriceFlow
from trueup.flows.refunds import RefundFlow, RefundRules
from trueup.flows.short_ship import ShortShipments
from trueup.flows.stock import StockFlow
from trueup.model.items import FieldLimits
from trueup.model.stock import DEFAULT_FORMULA, SellableFormula, StockRules
from trueup.ports import ErpConnector
from trueup.runtime.backend import EmbeddedBackend, StoreExceptionQueue, StoreItemMap
from trueup.runtime.catalog_state import StoreCatalogState
from trueup.runtime.clock import SystemClock
from trueup.runtime.drift_findings import StoreDriftFindings
from trueup.runtime.engine import Engine, Schedule, Settings
from trueup.runtime.fulfilment import StoreFulfilmentLedger
from trueup.runtime.fulfilment_checks import FulfilmentChecks
from trueup.runtime.overrides import StoreQueueOverrides
from trueup.runtime.refunds import RefundChecks, StoreRefundLedger
from trueup.runtime.retry import RetryPolicy
from trueup.runtime.stock_state import StoreStockState

if TYPE_CHECKING:
    from trueup.runtime.reconcile_task import ReconcileTask
from trueup.runtime.sweep_ledger import StoreSweepLedger
from trueup.security.crypto import cipher_for
from trueup.store import Store


@dataclass
class Deployment:
    config: Config
    store: Store
    backend: EmbeddedBackend
    engine: Engine
    orders: OrderFlow
    items: ItemFlow
    item_map: StoreItemMap
    since: datetime | None = None
    stock: StockFlow | None = None
    prices: PriceFlow | None = None
    fulfilment: FulfilmentFlow | None = None
    fulfilment_checks: FulfilmentChecks | None = None
    refunds: RefundFlow | None = None
    refund_checks: RefundChecks | None = None
    cancellations: CancellationFlow | None = None
    catalog: CatalogFlow | None = None

    @property
    def cancellation_schedule(self) -> Schedule:
        """Orders cancelled in the storefront, on the refunds' interval, by their own key cursor."""
        assert self.cancellations is not None
        return Schedule(
            self.cancellations, self.config.storefront.name, self.config.flows.refunds.interval_seconds
        )

    @property
    def refund_schedule(self) -> Schedule:
        """The refund flow's schedule: credit memos from the storefront, by their own key cursor."""
        assert self.refunds is not None
        return Schedule(self.refunds, self.config.storefront.name, self.config.flows.refunds.interval_seconds)

    @property
    def catalog_schedule(self) -> Schedule:
        """The catalogue flow's schedule: products from the ERP's item master, in lane `items`."""
        assert self.catalog is not None
        return Schedule(self.catalog, self.config.erp.name, self.config.catalog.interval_seconds)

    @property
    def price_schedule(self) -> Schedule:
        assert self.prices is not None
        return Schedule(self.prices, self.config.erp.name, self.config.prices.interval_seconds)

    @property
    def stock_schedule(self) -> Schedule:
        assert self.stock is not None
        return Schedule(self.stock, self.config.erp.name, self.config.stock.interval_seconds)

    @property
    def despatch_schedule(self) -> Schedule:
        """The fulfilment flow's schedule: despatches from the ERP, by the ERP's own cursor."""
        assert self.fulfilment is not None
        return Schedule(self.fulfilment, self.config.erp.name, self.config.flows.despatches.interval_seconds)

    async def items_held(self) -> bool:
        """Whether an earlier item sync left a map to judge orders by, should this one fail."""
        return await self.item_map.held() > 0

    @property
    def order_schedule(self) -> Schedule:
        """The order flow's schedule. A backfill (`--since`) keeps a cursor of its own, so that it never
        moves the running cursor back and an interrupted backfill resumes where it stopped."""
        source = self.config.storefront.name
        if self.since is not None:  # within the cursors table's 32 characters
            source = f"backfill@{self.since:%Y%m%dT%H%M%S}"
        return Schedule(self.orders, source, self.config.flows.orders.interval_seconds)


def order_rules(config: Config, erp_limits: FieldLimits | None = None) -> OrderRules:
    """The planner checks orders against what the ERP can hold: the connector's limits when given (a connector
    narrows `[erp.limits]` to its wire, e.g. Stokly's two address lines), else the configured ones."""
    flow = config.flows.orders
    limits = erp_limits if erp_limits is not None else config.erp.limits.to_limits()
    return OrderRules(
        limits=replace(limits, street_lines=config.erp.street_lines),
        carriers={k: (v.carrier, v.service) for k, v in config.mappings.carriers.items()},
        sku_overrides=dict(config.mappings.skus),
        currencies=frozenset(config.erp.currencies),
        post_when=flow.post_when,
        line_tax_tolerance=flow.line_tax_tolerance,
        tax_tolerance=flow.tax_tolerance,
        tax_mode=flow.tax_mode,
    )


def stock_rules(config: Config, erp: object) -> StockRules:
    """The stock planner's rules: the ERP connector's sellable formula unless `[stock] formula` overrides."""
    cfg = config.stock
    declared: SellableFormula = getattr(erp, "sellable_formula", DEFAULT_FORMULA)
    formula = SellableFormula(
        tuple(cfg.formula) if cfg.formula is not None else declared.subtract,
        cfg.use_erp_sellable if cfg.use_erp_sellable is not None else declared.use_erp_sellable,
    )
    return StockRules(
        formula=formula,
        locations=dict(cfg.locations),
        default_source=cfg.default_source,
        buffer=cfg.buffers.buffer,
        sku_buffers=dict(cfg.buffers.skus),
        category_buffers=dict(cfg.buffers.categories),
        categories=dict(cfg.categories),
        reserved=dict(cfg.reserved),
    )


def stock_flow(
    config: Config,
    erp: ErpConnector,
    magento: MagentoStock,
    state: StoreStockState,
    exceptions: StoreExceptionQueue,
    clock: SystemClock,
) -> StockFlow:
    cfg = config.stock
    return StockFlow(
        erp,
        magento,
        state,
        exceptions,
        stock_rules(config, erp),
        clock,
        storefront=magento,
        batch_size=cfg.batch_size,
        drift_tolerance=cfg.drift_tolerance,
        drift_age=timedelta(seconds=cfg.drift_age_seconds),
        findings=StoreDriftFindings(state.backend, clock),
    )


def price_flow(
    config: Config, erp: ErpConnector, magento: MagentoPrices, backend: EmbeddedBackend, clock: SystemClock
) -> PriceFlow:
    return PriceFlow(
        erp,
        magento,
        StoreStockState(backend, clock),
        StoreExceptionQueue(backend, clock),
        currency=config.prices.currency,
        batch_size=config.prices.batch_size,
        storefront=magento,
        drift_tolerance=config.prices.drift_tolerance,
        findings=StoreDriftFindings(backend, clock),
    )


def fulfilment_flow(
    config: Config, magento: MagentoClient, erp: ErpConnector, backend: EmbeddedBackend, clock: SystemClock
) -> FulfilmentFlow:
    flow = config.flows.despatches
    rules = FulfilmentRules(
        carriers={k: (v.carrier, v.service) for k, v in config.mappings.carriers.items()},
        sku_overrides=dict(config.mappings.skus),
        notify=flow.notify,
        source_code=flow.source_code,
    )
    return FulfilmentFlow(
        erp,
        MagentoShipments(magento, name=config.storefront.name),
        StoreFulfilmentLedger(backend, config.storefront.name, clock),
        rules,
        clock,
        order_recheck=timedelta(seconds=flow.order_recheck_seconds),
        exceptions=StoreExceptionQueue(backend, clock),
        invoicer=MagentoInvoices(magento, name=config.storefront.name) if flow.invoice_on_despatch else None,
        short=ShortShipments(
            StoreExceptionQueue(backend, clock),
            mode=flow.short_ship,
            refunder=MagentoOfflineRefunds(magento, name=config.storefront.name),
            notify=flow.notify,
            source=erp.name,
        ),
    )


def refund_flow(
    config: Config,
    magento: MagentoClient,
    erp: ErpConnector,
    item_map: StoreItemMap,
    backend: EmbeddedBackend,
    clock: SystemClock,
) -> RefundFlow:
    flow = config.flows.refunds
    rules = RefundRules(
        sku_overrides=dict(config.mappings.skus), location=flow.restock_location, enabled=flow.enabled
    )
    return RefundFlow(
        MagentoCreditMemos(magento, name=config.storefront.name, page_size=flow.page_size),
        erp,
        StoreRefundLedger(backend, config.storefront.name, clock, enabled=flow.enabled),
        item_map,
        rules,
        clock,
        order_recheck=timedelta(seconds=flow.order_recheck_seconds),
        exceptions=StoreExceptionQueue(backend, clock),
    )


def _engine_lock(database_url: str) -> IO[str] | None:
    """Embedded mode owns its SQLite file alone; a second engine on it would steal the first one's work."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database).with_suffix(".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise Fatal(f"another trueup engine is running on {url.database} (lock {path} is held)") from None
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


# ERP kind -> the connector package; each exposes `async def connect(session, erp_config) -> ErpConnector`.
ERP_CONNECTORS = {
    "rest": "trueup.connectors.rest",
    "stokly": "trueup.connectors.stokly",
    "prima": "trueup.connectors.prima",
    "merret": "trueup.connectors.merret",
    "files": "trueup.connectors.files",
}


async def connect_erp(session: aiohttp.ClientSession, erp: ErpConfig) -> ErpConnector:
    module = importlib.import_module(ERP_CONNECTORS[erp.kind])
    connector: ErpConnector = await module.connect(session, erp)
    return connector


@asynccontextmanager
async def open_deployment(
    config: Config,
    *,
    on_event: Callable[[dict[str, object]], None] | None = None,
    since: datetime | None = None,
) -> AsyncIterator[Deployment]:
    """Everything wired for `config`. `since` is a deliberate backfill: orders placed from then on are
    posted, even before `[flows.orders] start_from`."""
    runtime = config.runtime
    lock = _engine_lock(runtime.database_url)
    store = Store(runtime.database_url, cipher=cipher_for(config))
    exclusive = lock is not None
    backend = EmbeddedBackend(
        store,
        lease=timedelta(seconds=runtime.lease_seconds),
        dead_after=timedelta(seconds=runtime.heartbeat_seconds * 4),
        exclusive=exclusive,
    )
    clock = SystemClock()
    # One session per system, each with its own TLS trust (`ca_file`): the store's private CA must not be
    # trusted for the ERP, nor the other way round.
    store_session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=config.storefront.concurrency + 4, ssl=tls_context(config.storefront.ca_file)
        ),
        timeout=aiohttp.ClientTimeout(total=config.storefront.timeout_seconds),
    )
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=config.erp.concurrency + 4, ssl=tls_context(config.erp.ca_file)),
        timeout=aiohttp.ClientTimeout(total=config.erp.timeout_seconds),
    )
    stack = AsyncExitStack()
    try:
        magento = MagentoClient(
            store_session,
            config.storefront.base_url,
            magento_auth(config.storefront.auth, config.storefront.secret_envs()),
            concurrency=config.storefront.concurrency,
            timeout_seconds=config.storefront.timeout_seconds,
        )
        erp = await connect_erp(session, config.erp)
        stack.push_async_callback(erp.aclose)
        item_map = StoreItemMap(backend, config.erp.name, clock)
        flow_cfg = config.flows.orders
        orders = OrderFlow(
            MagentoOrders(magento, name=config.storefront.name, page_size=config.storefront.page_size),
            erp,
            item_map,
            order_rules(config, erp.limits),
            clock,
            payment_recheck=timedelta(seconds=flow_cfg.payment_recheck_seconds),
            overlap=timedelta(seconds=config.storefront.overlap_seconds),
            start_from=since or flow_cfg.start_from,
            require_start_from=not config.storefront.is_sandbox(),
            ack_policy=AckPolicy(
                check_every=timedelta(seconds=config.erp.ack_check_seconds),
                timeout=timedelta(minutes=config.erp.ack_timeout_minutes),
            ),
            overrides=StoreQueueOverrides(backend, KIND),
        )
        policy = RetryPolicy(runtime.retry_base_seconds, runtime.retry_max_seconds, runtime.max_attempts)
        engine = Engine(
            backend,
            clock,
            policy,
            Settings(
                runtime.batch_size,
                runtime.batches_in_flight,
                runtime.heartbeat_seconds,
                runtime.observe_ahead,
            ),
            on_event=on_event,
            erp_name=config.erp.name,
        )
        exceptions = StoreExceptionQueue(backend, clock)
        yield Deployment(
            config,
            store,
            backend,
            engine,
            orders,
            ItemFlow(erp, item_map, exceptions),
            item_map,
            since,
            stock_flow(
                config,
                erp,
                MagentoStock(
                    magento,
                    name=config.storefront.name,
                    mode=config.stock.mode,
                    poll_seconds=config.stock.bulk_poll_seconds,
                ),
                StoreStockState(backend, clock),
                exceptions,
                clock,
            ),
            price_flow(config, erp, MagentoPrices(magento, name=config.storefront.name), backend, clock),
            fulfilment_flow(config, magento, erp, backend, clock),
            FulfilmentChecks(
                backend,
                clock,
                storefront=config.storefront.name,
                erp=config.erp.name,
                stalled_after=timedelta(hours=config.flows.despatches.stalled_after_hours),
                drift_grace=timedelta(hours=config.flows.despatches.drift_grace_hours),
            ),
            refund_flow(config, magento, erp, item_map, backend, clock),
            RefundChecks(
                backend,
                clock,
                erp=config.erp.name,
                drift_grace=timedelta(hours=config.flows.refunds.drift_grace_hours),
                enabled=config.flows.refunds.enabled,
                ledger=erp,
                storefront=config.storefront.name,
            ),
            CancellationFlow(
                MagentoCancellations(magento, name=config.storefront.name),
                erp,
                StoreRefundLedger(backend, config.storefront.name, clock),
            ),
            catalog=CatalogFlow(
                erp,
                MagentoCatalog(magento, name=config.storefront.name),
                StoreCatalogState(backend),
                exceptions,
                batch_size=config.catalog.batch_size,
                barcode_attribute=config.catalog.barcode_attribute,
                findings=StoreDriftFindings(backend, clock),
            ),
        )
    finally:
        await stack.aclose()
        await session.close()
        await store_session.close()
        backend.close()
        store.close()
        if lock is not None:
            lock.close()


def orphan_sweep(dep: Deployment) -> OrphanSweep:
    """The orphan sweep over this deployment's storefront, ledger and ERP (`[checks.orphans]`)."""
    cfg, check = dep.config, dep.config.checks.orphans
    source = dep.orders.source
    assert isinstance(source, MagentoOrders)  # the only storefront kind so far
    storefront = cfg.storefront.name
    rules = OrphanRules(
        sla=timedelta(minutes=check.sla_minutes),
        post_when=cfg.flows.orders.post_when,
        # go-live (`[flows.orders] start_from`, or a backfill's --since): older orders are not orphans
        go_live=dep.orders.start_from,
    )
    ledger = StoreSweepLedger(
        dep.backend,
        dep.engine.clock,
        flow=dep.orders.name,
        order_kind=KIND,
        link_kind=LINK_KIND,
        storefront=storefront,
    )
    return OrphanSweep(
        MagentoOrderIndex(source.client, name=storefront, page_size=check.page_size),
        ledger,
        dep.orders.sink,
        lambda src: observed_work(src, storefront),
        dep.engine.clock,
        SweepSettings(
            window=timedelta(days=check.window_days),
            rules=rules,
            verify_in_erp=check.verify_in_erp,
            sample_size=check.sample_size,
            concurrency=cfg.storefront.concurrency,
        ),
    )


def reconcile_task(dep: Deployment) -> ReconcileTask:
    """The daily sales-to-ledger reconciliation over this deployment (`[checks.reconcile]`)."""
    from trueup.checks.reconcile import Tolerances
    from trueup.ports import LedgerSource
    from trueup.runtime.reconcile_task import ReconcileSettings, ReconcileTask

    cfg = dep.config.checks.reconcile
    erp = dep.orders.sink
    if not hasattr(erp, "ledger"):
        raise Fatal(f"ERP {dep.config.erp.name} does not offer its ledger: it cannot be reconciled")
    settings = ReconcileSettings(
        window_days=cfg.window_days,
        lookback_days=cfg.lookback_days,
        grace=timedelta(hours=cfg.grace_hours),
        tolerances=Tolerances(
            cfg.money_tolerance_minor, cfg.tax_rounding_minor_per_line, cfg.quantity_tolerance
        ),
    )
    ledger = cast(LedgerSource, erp)
    return ReconcileTask(
        dep.orders.source,
        ledger,
        dep.backend,
        dep.engine.clock,
        settings,
        erp=dep.config.erp.name,
        memos=refund_memos(dep),
    )


def refund_memos(dep: Deployment) -> MagentoCreditMemos | None:
    """The storefront's credit memos for the reconciliation: its own reader (its refusals are the refund
    flow's to park, not the reconciliation's), over the refund flow's client."""
    if dep.refunds is None or not isinstance(dep.refunds.source, MagentoCreditMemos):
        return None
    source = dep.refunds.source
    return MagentoCreditMemos(source.client, name=source.name, page_size=source.page_size)
