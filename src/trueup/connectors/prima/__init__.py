"""Prima Solutions (fashion / multichannel ERP) over its XML web service handler (docs/connectors/prima.md).

Prima has no authentication at its API (access is network-controlled), so `[erp] token_env` is not used.
"""

from __future__ import annotations

import aiohttp

from trueup.config import ErpConfig, parse_options
from trueup.connectors.prima.connector import PrimaErp, PrimaOptions
from trueup.errors import ConfigError

Options = PrimaOptions


async def connect(session: aiohttp.ClientSession, erp: ErpConfig) -> PrimaErp:
    options = parse_options(PrimaOptions, erp.options(), "erp.prima")
    if not erp.base_url:
        raise ConfigError(
            "erp.base_url",
            erp.base_url,
            "Prima's instance URL: the WSDL URL without /wsdl, e.g. https://prima.example.co.uk/ws",
        )
    return PrimaErp(
        session,
        erp.base_url,
        options,
        name=erp.name,
        limits=erp.limits.to_limits(),
        concurrency=erp.concurrency,
    )


__all__ = ["Options", "PrimaErp", "PrimaOptions", "connect"]
