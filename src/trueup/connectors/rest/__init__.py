"""The generic REST ERP contract (docs/connectors/rest-erp.md)."""

from __future__ import annotations

import aiohttp

from trueup.config import ErpConfig, secret
from trueup.connectors.http import tls_context
from trueup.connectors.rest.connector import RestErp
from trueup.errors import ConfigError


async def connect(session: aiohttp.ClientSession, erp: ErpConfig) -> RestErp:
    if not erp.base_url:
        raise ConfigError(
            "erp.base_url", erp.base_url, "the REST ERP's API base, e.g. https://erp.example/api/v1"
        )
    # The REST ERP keeps its own connections (RestErp): the session is the other ERPs' transport.
    return RestErp(
        erp.base_url,
        secret(erp.token_env),
        name=erp.name,
        limits=erp.limits.to_limits(),
        concurrency=erp.concurrency,
        tls=tls_context(erp.ca_file),
        timeout_seconds=erp.timeout_seconds,
    )


__all__ = ["RestErp", "connect"]
