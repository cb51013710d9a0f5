"""Liveness, readiness naming what is down, metrics, the OpenAPI document and the access log."""

from __future__ import annotations

import asyncio
import json

from store.db import apply_migrations
from tests.conftest import backend_with_gateway, logged_with, make_settings


async def test_healthz_answers_ok(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ok_when_database_redis_and_gateway_answer(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "gateway": "ok"}


async def test_readyz_names_the_gateway_when_it_is_down_and_healthz_stays_up(stack):
    await stack.gateway.put("/_admin/faults", json={"down": True})
    ready = await stack.client.get("/readyz", headers={"x-request-id": "probe-1"})
    assert ready.status_code == 503
    assert ready.json()["down"] == ["gateway"]
    # The same envelope as every other error, with when to ask again.
    assert ready.json()["error"] == {
        "code": "not_ready",
        "request_id": "probe-1",
        "message": "依赖不可用 Not ready: gateway",
    }
    assert ready.headers["retry-after"] == "5" and ready.headers["x-request-id"] == "probe-1"
    assert (await stack.client.get("/healthz")).status_code == 200
    await stack.gateway.put("/_admin/faults", json={"down": False})
    assert (await stack.client.get("/readyz")).status_code == 200


async def test_readyz_names_redis_when_redis_is_down_and_healthz_stays_up(tmp_path):
    settings = make_settings(tmp_path, redis_url="redis://127.0.0.1:1/0")
    await apply_migrations(settings.database_url)
    async with backend_with_gateway(settings) as stack:
        client = stack.client
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["down"] == ["redis"]
        assert ready.json()["error"]["code"] == "not_ready"
        assert (await client.get("/healthz")).status_code == 200


async def test_readyz_names_the_database_when_it_is_down_and_healthz_stays_up(tmp_path):
    settings = make_settings(tmp_path, database_url="postgres://nobody@127.0.0.1:1/none")
    async with backend_with_gateway(settings) as stack:
        client = stack.client
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["down"] == ["database"]
        assert (await client.get("/healthz")).status_code == 200


async def test_metrics_count_requests_per_route_pattern(client):
    await asyncio.gather(*(client.get("/healthz") for _ in range(7)))
    await client.get("/no/such/thing")
    text = (await client.get("/metrics")).text
    assert 'lingpao_http_requests_total{method="GET",route="healthz",status="200"} 7.0' in text
    assert 'lingpao_http_request_duration_seconds_count{method="GET",route="healthz"} 7.0' in text
    assert 'route="<unmatched>",status="404"' in text
    assert "lingpao_http_request_duration_seconds_bucket" in text


async def test_requests_are_counted_in_flight_until_answered_however_they_end(stack):
    client, app = stack.client, stack.app
    observer, outbox = app.ctx.observer, app.ctx.container.outbox
    assert outbox.busy is not None and not outbox.busy()
    await client.get("/healthz")
    await client.get("/no/such/thing")
    await client.get("/_test/boom")
    await client.post("/_test/echo", content=b"{", headers={"content-type": "application/json"})
    await client.post("/_test/echo", content=b"x" * (2 * 1024 * 1024))
    await client.get("/api/v1/me")
    assert observer.in_flight == 0
    waiting = [asyncio.ensure_future(client.get("/_test/held")) for _ in range(16)]
    for _ in range(100):
        if observer.in_flight == 16:
            break
        await asyncio.sleep(0.01)
    # OUTBOX_YIELD_AT's default: from 16 requests in flight, deliveries yield to them.
    assert observer.in_flight == 16 and outbox.busy()
    app.ctx.probe_gate.set()
    assert {(await w).status_code for w in waiting} == {200}
    assert observer.in_flight == 0 and not outbox.busy()


async def test_openapi_document_describes_every_route(client):
    response = await client.get("/docs/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    for path in (
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/.well-known/jwks.json",
        "/api/v1/items",
        "/api/v1/items/{code}",
        "/api/v1/me/one-id-items",
        "/api/v1/me/certificates",
        "/api/v1/me/certificates/{certificate_id}",
        "/api/v1/me/certificates/{certificate_id}/presentations",
        "/api/v1/presentations/verify",
        "/api/v1/me/access-log",
        "/api/v1/ops/items",
        "/api/v1/ops/items/{code}/mode",
        "/api/v1/ops/kpis",
        "/api/v1/ops/audit",
        "/api/v1/uploads",
    ):
        assert path in doc["paths"], path
    assert "bearer" in doc["components"]["securitySchemes"]


async def test_access_log_is_one_json_line_per_request_without_body_or_token(client, log_output):
    await client.post(
        "/_test/echo",
        json={"name": "330402199001011230"},
        headers={
            "authorization": "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.sig",
            "x-request-id": "log-check-1",
        },
    )
    written = await logged_with(log_output, "lingpao.access")
    lines = [line for line in written.splitlines() if "lingpao.access" in line]
    assert len(lines) == 1
    entry = json.loads(lines[0].split("lingpao.access ", 1)[1])
    assert entry["method"] == "POST"
    assert entry["route"] == "_test/echo"
    assert entry["status"] == 200
    assert entry["request_id"] == "log-check-1"
    assert isinstance(entry["duration_ms"], float)
    everything = log_output.getvalue()
    assert "330402199001011230" not in everything
    assert "eyJhbGci" not in everything


async def test_metrics_count_gateway_call_outcomes(stack):
    await stack.client.get("/readyz")
    await stack.gateway.put("/_admin/faults", json={"down": True})
    await stack.client.get("/readyz")
    text = (await stack.client.get("/metrics")).text
    assert 'lingpao_gateway_calls_total{endpoint="/ping",outcome="ok"} 1.0' in text
    assert 'lingpao_gateway_calls_total{endpoint="/ping",outcome="GatewayUnavailable"} 1.0' in text


async def test_readyz_counts_a_slow_gateway_that_answers_as_ready(stack):
    await stack.gateway.put("/_admin/faults", json={"latency_ms": 2500})
    try:
        ready = await stack.client.get("/readyz")
    finally:
        await stack.gateway.put("/_admin/faults", json={"latency_ms": 0})
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["gateway"] == "ok"
