"""What the despatch and refund flows share: a record that follows an order (a despatch, a credit memo) goes
on only once trueup has posted that order to the ERP, and waits for it until then (the store wakes it when
the order is linked); and a source's refused records are parked after each pass."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from trueup.model.work import Job, Wait
from trueup.ports import ExceptionQueue

T = TypeVar("T")


class PostedOrders(Protocol):
    async def posted_orders(self, order_ids: Iterable[str]) -> Mapping[str, str]: ...


async def split_by_order(
    ledger: PostedOrders,
    parsed: Sequence[tuple[Job, T]],
    order_of: Callable[[T], str],
    waiting: Callable[[Job, T], Wait],
) -> tuple[list[tuple[Job, T, str]], list[Wait]]:
    """The records whose order is posted, each with the order's ERP reference; a Wait for each other one."""
    posted = await ledger.posted_orders({order_of(record) for _, record in parsed})
    ready: list[tuple[Job, T, str]] = []
    waits: list[Wait] = []
    for job, record in parsed:
        ref = posted.get(order_of(record))
        if ref is None:
            waits.append(waiting(job, record))
        else:
            ready.append((job, record, ref))
    return ready, waits


async def park_source_rejections(source: object, exceptions: ExceptionQueue | None) -> None:
    """Park what the source refused to read in this pass (a source that refuses nothing has no
    `take_rejections`)."""
    take = getattr(source, "take_rejections", None)
    if exceptions is not None and take is not None:
        await exceptions.park_rejections(take())
