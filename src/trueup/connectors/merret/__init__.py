"""Merret (Retail Assist): batch files over SFTP, with the Merret profile (docs/connectors/merret.md).

Merret has no public API; it trades files on a schedule. This is the generic files connector with the
Merret profile: the ERP item id is the 14-digit PID, validated, and order lines are mapped SKU → PID from
Merret's item export.
"""

from __future__ import annotations

import aiohttp

from trueup.config import ErpConfig
from trueup.connectors.files import connect_files
from trueup.connectors.files.connector import FilesErp
from trueup.connectors.files.profile import MERRET_PROFILE


async def connect(session: aiohttp.ClientSession, erp: ErpConfig) -> FilesErp:
    """The connector for `kind = "merret"`; the HTTP session is unused."""
    return connect_files(erp, MERRET_PROFILE)


__all__ = ["FilesErp", "connect"]
