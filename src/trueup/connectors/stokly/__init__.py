"""Stokly (stok.ly), the cloud inventory ERP: docs/connectors/stokly.md."""

from __future__ import annotations

from datetime import timedelta

import aiohttp

from trueup.config import ErpConfig, parse_options, secret
from trueup.connectors.stokly.client import DEFAULT_BASE_URL, Credentials, Pacing, StoklyClient
from trueup.connectors.stokly.connector import Options, StoklyErp
from trueup.errors import ConfigError


async def connect(session: aiohttp.ClientSession, erp: ErpConfig) -> StoklyErp:
    raw = erp.options()
    if not str(raw.get("location_id") or "").strip():
        # Without it Stokly cannot allocate web orders, and stock for the web channel stops: say so now.
        raise ConfigError(
            "erp.stokly.location_id",
            raw.get("location_id", "<missing>"),
            'the id of the Stokly location web orders deduct from (the web channel\'s "Allocate Sold" '
            "location in Stokly's channel settings)",
        )
    options = parse_options(Options, raw, "erp.stokly")
    client = StoklyClient(
        session,
        Credentials(options.account_key, options.client_id, secret(erp.token_env)),
        base_url=erp.base_url or DEFAULT_BASE_URL,
        concurrency=erp.concurrency,
        refresh_before=timedelta(seconds=options.refresh_before_seconds),
        pacing=Pacing(options.pace_below, options.rate_window_seconds),
    )
    return StoklyErp(client, options, name=erp.name, limits=erp.limits.to_limits())


__all__ = ["Options", "StoklyErp", "connect"]
