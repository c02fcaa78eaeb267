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
from typing import IO

import aiohttp
from sqlalchemy.engine import make_url

from trueup.config import Config, ErpConfig
from trueup.connectors.magento.auth import magento_auth
from trueup.connectors.magento.client import MagentoClient
from trueup.connectors.magento.connector import MagentoOrders
from trueup.errors import Fatal
from trueup.flows.acks import AckPolicy
from trueup.flows.items import ItemFlow
from trueup.flows.orders import OrderFlow, OrderRules
from trueup.model.items import FieldLimits
from trueup.ports import ErpConnector
from trueup.runtime.backend import EmbeddedBackend, StoreExceptionQueue, StoreItemMap
from trueup.runtime.clock import SystemClock
from trueup.runtime.engine import Engine, Schedule, Settings
from trueup.runtime.retry import RetryPolicy
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
    since: datetime | None = None

    @property
    def order_schedule(self) -> Schedule:
        """The order flow's schedule. A backfill (`--since`) keeps a cursor of its own, so that it never
        moves the running cursor back and an interrupted backfill resumes where it stopped."""
        source = self.config.storefront.name
        if self.since is not None:
            source = f"{source}#since:{self.since.isoformat()}"
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
    connector = aiohttp.TCPConnector(limit=config.erp.concurrency + config.storefront.concurrency + 8)
    timeout = aiohttp.ClientTimeout(total=max(config.erp.timeout_seconds, config.storefront.timeout_seconds))
    session = aiohttp.ClientSession(connector=connector, timeout=timeout)
    stack = AsyncExitStack()
    try:
        magento = MagentoClient(
            session,
            config.storefront.base_url,
            magento_auth(config.storefront.auth, config.storefront.secret_envs()),
            concurrency=config.storefront.concurrency,
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
        )
        yield Deployment(
            config,
            store,
            backend,
            engine,
            orders,
            ItemFlow(erp, item_map, StoreExceptionQueue(backend, clock)),
            since,
        )
    finally:
        await stack.aclose()
        await session.close()
        backend.close()
        store.close()
        if lock is not None:
            lock.close()
