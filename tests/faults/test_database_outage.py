"""The database refusing connections: a 503 with Retry-After, never a 500, and a logout
that either completes or changes nothing and can be retried."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis.asyncio as redis

from tests.auth_helpers import bearer, catalog_ready, login
from tests.conftest import backend_with_gateway, make_settings
from tests.faults.proxy import FaultyProxy

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def outage(tmp_path, fresh_pg_url, redis_url):
    parts = urlsplit(fresh_pg_url)
    proxy = await FaultyProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    through = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    client = redis.Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    settings = make_settings(tmp_path, database_url=through, redis_url=redis_url)
    try:
        async with backend_with_gateway(settings) as stack:
            setattr(stack, "proxy", proxy)  # noqa: B010 - the tests reach it as outage.proxy
            yield stack
    finally:
        await proxy.close()


async def test_routes_that_need_the_database_answer_503_while_it_refuses(outage):
    await catalog_ready(outage)
    tokens = await login(outage)
    outage.proxy.refuse()
    try:
        for path in ("/api/v1/applications", "/api/v1/me/access-log"):
            answer = await outage.client.get(path, headers=bearer(tokens))
            assert answer.status_code == 503, (path, answer.text)
            assert answer.json()["error"]["code"] == "service_unavailable"
            assert answer.headers["retry-after"]
            assert "postgres" not in answer.text.lower()
    finally:
        outage.proxy.heal()
    answer = await outage.client.get("/api/v1/applications", headers=bearer(tokens))
    assert answer.status_code == 200


async def test_a_logout_during_the_outage_can_be_retried_and_then_holds(outage):
    await catalog_ready(outage)
    tokens = await login(outage)
    outage.proxy.refuse()
    try:
        cut = await outage.client.post("/api/v1/auth/logout", headers=bearer(tokens))
        assert cut.status_code == 503
    finally:
        outage.proxy.heal()
    retried = await outage.client.post("/api/v1/auth/logout", headers=bearer(tokens))
    assert retried.status_code == 204
    assert (await outage.client.get("/api/v1/me", headers=bearer(tokens))).status_code == 401
    refreshed = await outage.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401


async def test_a_stalled_database_costs_a_bounded_wait_then_a_503_and_metrics_still_answer(
    tmp_path, fresh_pg_url, redis_url
):
    parts = urlsplit(fresh_pg_url)
    proxy = await FaultyProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    through = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    settings = make_settings(
        tmp_path, database_url=through, redis_url=redis_url, database_timeout_seconds=1.0
    )
    try:
        async with backend_with_gateway(settings) as stack:
            await catalog_ready(stack)
            tokens = await login(stack)
            proxy.stall()
            answer = await asyncio.wait_for(
                stack.client.get("/api/v1/applications", headers=bearer(tokens)), 10
            )
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"]
            metrics = await asyncio.wait_for(stack.client.get("/metrics"), 10)
            assert metrics.status_code == 200
            proxy.heal()
    finally:
        await proxy.close()
