"""Prometheus `/metrics`, in the text exposition format, written by hand (no client library needed).

Only a bearer token opens it (a scraper, not a browser session). Figures are read from the ledger at
scrape time, so every flow that writes the ledger shows without a change here.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import func, select

from trueup.model.work import Status
from trueup.store.schema import work
from trueup.web import insight
from trueup.web.app import user_of, web_of

router = APIRouter(include_in_schema=False)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{inner}}} {value:g}" if inner else f"{name} {value:g}")
    return lines


@router.get("/metrics")
def metrics(request: Request) -> PlainTextResponse:
    if user_of(request).csrf:
        raise HTTPException(401, "/metrics takes a bearer token (trueup users token), not a session")
    web = web_of(request)
    now = web.clock()
    with web.store.tx() as conn:
        flows = insight.flow_health(conn, now, web.breakers)
        opened = insight.by_reason_owner(conn)
        done = conn.execute(
            select(work.c.kind, func.count()).where(work.c.status == Status.DONE).group_by(work.c.kind)
        ).all()
    work_flows = [f for f in flows if not f["flow"].startswith("observe ")]
    out: list[str] = []
    out += _family(
        "trueup_flow_backlog",
        "gauge",
        "Work of a flow still to do (todo, retrying, doing).",
        [({"flow": f["flow"]}, f["backlog"]) for f in work_flows],
    )
    out += _family(
        "trueup_flow_lag_seconds",
        "gauge",
        "How late the oldest due work of a flow is; for observation, the age of its cursor.",
        [({"flow": f["flow"], "lane": f["lane"]}, f["lag_seconds"]) for f in flows],
    )
    out += _family(
        "trueup_flow_error_ratio",
        "gauge",
        "Share of a flow's work touched in the last hour that failed or parked.",
        [({"flow": f["flow"]}, f["error_rate"]) for f in work_flows],
    )
    out += _family(
        "trueup_flow_done_total",
        "counter",
        "Work of a flow finished (throughput: rate() of this).",
        [({"flow": str(kind)}, float(n)) for kind, n in done],
    )
    out += _family(
        "trueup_exceptions_open",
        "gauge",
        "Open exceptions by reason and owner team.",
        [({"reason": r, "owner": o}, n) for r, o, n in opened],
    )
    return PlainTextResponse("\n".join(out) + "\n", media_type="text/plain; version=0.0.4")
