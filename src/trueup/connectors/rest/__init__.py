"""The generic REST ERP contract (docs/connectors/rest-erp.md)."""

from __future__ import annotations

import aiohttp

from trueup.config import ErpConfig, secret
from trueup.connectors.rest.connector import RestErp
from trueup.errors import ConfigError


async def connect(session: aiohttp.ClientSession, erp: ErpConfig) -> RestErp:
    if not erp.base_url:
        raise ConfigError(
            "erp.base_url", erp.base_url, "the REST ERP's API base, e.g. https://erp.example/api/v1"
        )
    return RestErp(
        session,
        erp.base_url,
        secret(erp.token_env),
        name=erp.name,
        limits=erp.limits.to_limits(),
        concurrency=erp.concurrency,
    )


__all__ = ["RestErp", "connect"]
