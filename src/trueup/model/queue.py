"""What the exception queue's actions change for the planners: mappings added from the queue, and the
variances a person accepted for one order (trueup.queue.actions writes them, the order flow reads them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# One accepted variance: (reason, field, the storefront's figure as a decimal string). An order passes a
# tax or totals check only for the exact figure accepted; if the order changes, it is checked afresh.
Accepted = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class OrderOverrides:
    carriers: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # method -> (carrier, service)
    skus: Mapping[str, str] = field(default_factory=dict)  # storefront SKU -> ERP SKU
    accepted: Mapping[str, frozenset[Accepted]] = field(default_factory=dict)  # order key -> accepted

    @property
    def empty(self) -> bool:
        return not (self.carriers or self.skus or self.accepted)
