"""Which partition a SKU's batches fall in: stock, prices and products push each SKU in one partition, so
that two batches for the same SKU never run at once (the partition is the ledger lock)."""

from __future__ import annotations

import zlib

PARTITIONS = 8


def partition_of(sku: str) -> int:
    """Stable across processes and versions (crc32), unlike Python's or Polars' own string hash."""
    return zlib.crc32(sku.encode()) % PARTITIONS
