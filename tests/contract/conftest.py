"""The ERP connector contract suite: the same tests for every ERP connector, against its own sandbox.

Each case starts the ERP's sandbox on loopback (HTTP, or SFTP for Merret), loads a small item master,
connects the real connector through the same factory a deployment uses, and hands both to the test: the
connector as trueup uses it, the sandbox as the ERP's own staff would (despatching, counting stock).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from trueup.config import ErpConfig
from trueup.deployment import connect_erp
from trueup.ports import ErpConnector
from trueup.sandbox.erps import ErpSandbox, erp_sandbox

KINDS = ["rest", "stokly", "prima", "merret", "files"]

ITEMS: list[dict[str, Any]] = [
    {
        "item_id": "IT-000001",
        "sku": "TU0001-M-Navy",
        "barcode": "5012345678900",
        "name": "Tee 1 M Navy",
        "active": True,
    },
    {
        "item_id": "IT-000002",
        "sku": "TU0001-L-Navy",
        "barcode": "5012345678917",
        "name": "Tee 1 L Navy",
        "active": True,
    },
    {
        "item_id": "IT-000003",
        "sku": "TU0002",
        "barcode": "5012345678924",
        "name": "Accessory 2",
        "active": True,
    },
    {
        "item_id": "IT-000004",
        "sku": "TU0003-OLD",
        "barcode": "5012345678931",
        "name": "Retired tee",
        "active": False,
    },
]


@dataclass
class Case:
    kind: str
    sandbox: ErpSandbox
    erp: ErpConnector


@pytest.fixture(params=KINDS)
async def case(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Case]:
    kind = str(request.param)
    sandbox = erp_sandbox(kind, seed=3)
    sandbox.start()
    try:
        sandbox.load_items(ITEMS)
        for name, value in sandbox.env().items():
            monkeypatch.setenv(name, value)
        config = ErpConfig.model_validate(sandbox.erp_config())
        async with aiohttp.ClientSession() as session:
            erp = await connect_erp(session, config)
            try:
                yield Case(kind, sandbox, erp)
            finally:
                await erp.aclose()
    finally:
        sandbox.stop()
        for name in sandbox.env():
            os.environ.pop(name, None)
