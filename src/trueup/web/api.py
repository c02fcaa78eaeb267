"""The JSON API under /api/v1: the same reads and actions as the pages, for scripts (bearer tokens)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from trueup.model.exceptions import Action as QueueAction
from trueup.store.exceptions import ExceptionRow
from trueup.web import insight, queue
from trueup.web.app import check_csrf, user_of, web_of

router = APIRouter(prefix="/api/v1", tags=["trueup"])

Status = Literal["parked", "resolved", "ignored", "todo", "retrying", "waiting", "done", "sent", "doing"]


class Me(BaseModel):
    name: str
    role: str
    acts: bool
    sees_trace: bool


class ExceptionPage(BaseModel):
    total: int = Field(description="how many match, counted up to 10001 (more shows as 10001)")
    items: list[ExceptionRow] = Field(
        description="the queue's rows, as `trueup exceptions list --json` prints them"
    )
    next_before: int | None = Field(description="pass as `before` for the next page; null on the last")


class Address(BaseModel):
    """Address fields to change (edit_and_post); the street's lines joined by "|". Others stay."""

    model_config = {"extra": "forbid"}
    first_name: str | None = Field(None, max_length=255)
    last_name: str | None = Field(None, max_length=255)
    company: str | None = Field(None, max_length=255)
    street: str | None = Field(None, max_length=1000)
    city: str | None = Field(None, max_length=255)
    region: str | None = Field(None, max_length=255)
    postcode: str | None = Field(None, max_length=32)
    country: str | None = Field(None, max_length=2)


class ActionRequest(BaseModel):
    action: QueueAction = Field(
        description="one of the actions the exceptions' reason offers (GET /api/v1/actions)"
    )
    ids: list[Annotated[int, Field(ge=0, le=2**62)]] = Field(
        min_length=1, max_length=1000, description="ledger ids; map_and_retry and edit_and_post take one"
    )
    note: str = Field(min_length=1, max_length=2000, description="why; kept in the audit trail")
    target: str = Field(
        "",
        max_length=255,
        description="map_and_retry: the ERP side, a SKU or a carrier as CARRIER/SERVICE (e.g. DPD/NEXTDAY)",
    )
    shipping_address: Address | None = Field(None, description="edit_and_post: the fields to change")
    billing_address: Address | None = Field(None, description="edit_and_post: the fields to change")


class ActionResult(BaseModel):
    id: int
    ok: bool
    key: str = ""
    action: str = ""
    error: str | None = None
    detail: dict[str, Any] | None = Field(
        None, description="what the action did: the mapping, the variances accepted, the fields changed"
    )


@router.get("/me")
def me(request: Request) -> Me:
    user = user_of(request)
    return Me(name=user.name, role=user.role, acts=user.acts, sees_trace=user.sees_trace)


@router.get("/actions")
def actions(
    reason: Annotated[str | None, Query(max_length=64, description="an exception reason")] = None,
) -> list[str]:
    """The actions an exception with this reason offers; without a reason, every action the queue has."""
    return list(queue.offered_actions(reason) if reason else queue.all_actions())


@router.get("/exceptions")
def list_exceptions(
    request: Request,
    reason: str | None = None,
    owner: str | None = None,
    q: Annotated[str | None, Query(max_length=128, description="order id or SKU")] = None,
    status: Status = "parked",
    before: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = queue.PAGE,
) -> ExceptionPage:
    web = web_of(request)
    f = queue.Filters(reason, owner, q, status, before, limit)
    sealed = web.store.cipher is not None
    with web.store.tx() as conn:
        rows = queue.list_page(conn, f, sealed=sealed)
        total = queue.count(conn, f, sealed=sealed)
    return ExceptionPage(
        total=total,
        items=rows,
        next_before=rows[-1].id if len(rows) == limit else None,
    )


@router.get("/exceptions/{ident}")
def get_exception(request: Request, ident: Annotated[int, PathParam(ge=0, le=2**62)]) -> dict[str, Any]:
    """One exception: payload (personal data masked), Resolution text, the actions its reason offers, its
    history (raised, failed attempts, actions with actor and note, cleared) and audit trail."""
    web = web_of(request)
    with web.store.tx() as conn:
        found = queue.detail(conn, ident, web.store.cipher)
    if found is None:
        raise HTTPException(404, f"no exception #{ident}")
    return queue.masked(found)


@router.post("/exceptions/actions", dependencies=[Depends(check_csrf)])
def act(request: Request, body: ActionRequest) -> list[ActionResult]:
    """Apply an action to exceptions, as `web:<user>`; refused whole (403) if any is owned by another team.
    map_and_retry answers for the named exception first, then for each other exception it unblocked."""
    web = web_of(request)
    user = user_of(request)
    changes = {
        f"{part}.{name}": value
        for part, address in (
            ("shipping_address", body.shipping_address),
            ("billing_address", body.billing_address),
        )
        if address is not None
        for name, value in address.model_dump(exclude_none=True).items()
    }
    ask = queue.Request(str(body.action), body.ids, body.note, target=body.target, changes=changes)
    try:
        results = queue.act(web.actions, ask, user=user)
    except queue.Forbidden as exc:
        raise HTTPException(403, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    return [ActionResult(**r.as_dict()) for r in results]


@router.get("/overview")
def overview(request: Request) -> list[dict[str, Any]]:
    web = web_of(request)
    with web.store.tx() as conn:
        return insight.overview(conn, web.clock())


@router.get("/flows")
def flows(request: Request) -> list[dict[str, Any]]:
    web = web_of(request)
    with web.store.tx() as conn:
        return insight.flow_health(conn, web.clock(), web.breakers)


@router.get("/trace")
def trace(request: Request, q: Annotated[str, Query(min_length=1, max_length=128)]) -> list[dict[str, Any]]:
    """Orders matching an order id, e-mail or postcode, each with its trace."""
    web = web_of(request)
    user = user_of(request)
    if not user.sees_trace:
        raise HTTPException(403, f"{user.role} may not see order traces")
    with web.store.tx() as conn:
        found = [
            insight.trace(conn, o, web.store.cipher) for o in insight.find_orders(conn, q, web.store.cipher)
        ]
    return [t if user.sees_personal_data else insight.masked_trace(t) for t in found if t]
