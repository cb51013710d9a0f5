"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json, raw

from server.context import services
from server.errors import envelope
from server.openapi import schemas as sc
from server.openapi.operations import Operation, Success, documented
from services import kpis
from store import db, kv

bp = Blueprint("health")
log = logging.getLogger("lingpao.health")
CHECK_TIMEOUT_SECONDS = 2.0
METRICS_DB_WAIT_SECONDS = 0.25


@bp.get("/healthz")
@documented(
    Operation(
        "healthz",
        "Liveness: 200 while the process runs",
        "health",
        {200: Success("the process runs", sc.Health)},
        uses_dependencies=False,
    )
)
async def healthz(request: Request) -> HTTPResponse:
    return json({"status": "ok"})


@bp.get("/readyz")
@documented(
    Operation(
        "readyz",
        "Readiness: 200 when database, cache and gateway answer; 503 naming what is down",
        "health",
        {200: Success("every dependency answers", sc.Readiness)},
        description="503 not_ready names what is down in `down` and `checks`, beside the "
        "error envelope.",
        framework_errors=((503, "not_ready"),),
    )
)
async def readyz(request: Request) -> HTTPResponse:
    c = services(request)
    # The gateway is ready when it answers within the time we give its calls anyway: a
    # gateway that is slow but answering serves every route, so it is not "down".
    gateway_wait = c.settings.gateway_timeout_seconds + 1.0
    checks = {
        "database": asyncio.wait_for(db.ping_database(), CHECK_TIMEOUT_SECONDS),
        "redis": asyncio.wait_for(kv.ping_redis(c.redis), CHECK_TIMEOUT_SECONDS),
        "gateway": asyncio.wait_for(c.gateway.ping(), gateway_wait),
    }
    results = await asyncio.gather(*checks.values(), return_exceptions=True)
    status = {}
    for name, result in zip(checks, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("readiness check %s failed: %s", name, type(result).__name__)
            status[name] = "down"
        else:
            status[name] = "ok"
    down = [name for name, state in status.items() if state != "ok"]
    if down:
        return envelope(
            request,
            503,
            "not_ready",
            "依赖不可用 Not ready: " + ", ".join(down),
            {"Retry-After": "5"},
            top={"status": "unavailable", "down": down, "checks": status},
        )
    return json({"status": "ok", "checks": status})


@bp.get("/metrics")
@documented(
    Operation(
        "metrics",
        "Prometheus metrics (bind-protected in production)",
        "health",
        {200: Success("Prometheus text format", media_type="text/plain")},
        uses_dependencies=False,
    )
)
async def metrics(request: Request) -> HTTPResponse:
    # Metrics answer even from a stalled database: the gauges are refreshed beside the
    # scrape, which waits a moment for fresh values and otherwise shows the last ones.
    ctx = request.app.ctx
    if ctx.gauge_refresh is None or ctx.gauge_refresh.done():
        ctx.gauge_refresh = asyncio.ensure_future(_refresh_gauges(request))
    await asyncio.wait([ctx.gauge_refresh], timeout=METRICS_DB_WAIT_SECONDS)
    ctx.observer.flush()  # this worker's requests counted up to now, not up to 50 ms ago
    return raw(ctx.metrics.exposition(), content_type=CONTENT_TYPE_LATEST)


async def _refresh_gauges(request: Request) -> None:
    await asyncio.gather(_refresh_kpi_gauges(request), _refresh_outbox_gauges(request))


async def _refresh_outbox_gauges(request: Request) -> None:
    try:
        depth, oldest = await services(request).outbox_desk.depth()
    except Exception as exc:  # noqa: BLE001 - metrics must answer even when the DB does not
        log.warning("outbox gauges not refreshed: %s", type(exc).__name__)
        return
    metrics = request.app.ctx.metrics
    metrics.outbox_depth.set(depth)
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
    metrics.outbox_oldest_age.set(max(0.0, age))


async def _refresh_kpi_gauges(request: Request) -> None:
    try:
        c = services(request)
        indicators = await kpis.current(c.catalog, c.applications)
    except Exception as exc:  # noqa: BLE001 - metrics must answer even when the DB does not
        log.warning("KPI gauges not refreshed: %s", type(exc).__name__)
        return
    for indicator in indicators:
        request.app.ctx.metrics.kpi.labels(indicator.key).set(
            indicator.value if indicator.value is not None else float("nan")
        )
        request.app.ctx.metrics.kpi_target.labels(indicator.key).set(indicator.target)
