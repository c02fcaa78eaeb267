"""When an order is paid enough to post: the order flow's `post_when`, as one rule for every caller."""

from __future__ import annotations

from trueup.model.orders import PaymentState


def payable_states(post_when: str) -> frozenset[PaymentState]:
    """`captured`: only captured payments post. `authorised`: authorised ones too (captured on despatch)."""
    if post_when == "authorised":
        return frozenset({PaymentState.CAPTURED, PaymentState.AUTHORISED})
    return frozenset({PaymentState.CAPTURED})
