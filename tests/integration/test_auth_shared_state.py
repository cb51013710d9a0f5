"""Login, rotation, reuse and logout on real PostgreSQL and Redis, seen by two instances."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest

from mock_gateway.inprocess import MockGatewayTransport
from server.app import create_app
from store.db import apply_migrations
from tests.auth_helpers import LI, ZHANG, bearer, identity_token, login
from tests.conftest import backend_with_gateway, make_settings, serve_in_process


@pytest.fixture
async def two_instances(tmp_path, pg_url, redis_url):
    """Instance A with the mock gateway, and instance B: same database, Redis and keys."""
    await apply_migrations(pg_url)
    settings = make_settings(tmp_path, database_url=pg_url, redis_url=redis_url)
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(backend_with_gateway(settings))
        b_app = create_app(
            settings, name="b", gateway_transport=MockGatewayTransport(a.gateway_app)
        )
        b = await stack.enter_async_context(serve_in_process(b_app))
        yield a, b


async def test_a_login_on_one_instance_is_accepted_by_the_other(two_instances):
    a, b = two_instances
    tokens = await login(a, ZHANG)
    assert (await b.get("/api/v1/me", headers=bearer(tokens))).json()["name"] == "张三"


async def test_logout_on_one_instance_is_refused_by_the_other_at_once(two_instances):
    a, b = two_instances
    tokens = await login(a, LI)
    assert (await b.get("/api/v1/me", headers=bearer(tokens))).status_code == 200
    assert (await a.client.post("/api/v1/auth/logout", headers=bearer(tokens))).status_code == 204
    assert (await b.get("/api/v1/me", headers=bearer(tokens))).status_code == 401


async def test_refresh_reuse_across_instances_revokes_the_family(two_instances):
    a, b = two_instances
    tokens = await login(a, ZHANG)
    new = (
        await b.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).json()
    reused = await a.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert reused.json()["error"]["code"] == "refresh_token_reused"
    assert (await b.get("/api/v1/me", headers=bearer(new))).status_code == 401


async def test_concurrent_refreshes_on_postgres_let_at_most_one_through(two_instances):
    a, b = two_instances
    tokens = await login(a, ZHANG)
    body = {"refresh_token": tokens["refresh_token"]}
    answers = await asyncio.gather(
        a.client.post("/api/v1/auth/refresh", json=body), b.post("/api/v1/auth/refresh", json=body)
    )
    assert [r.status_code for r in answers].count(200) <= 1


async def test_an_identity_token_used_on_one_instance_is_refused_on_the_other(two_instances):
    a, b = two_instances
    token = await identity_token(a, ZHANG)
    assert (
        await a.client.post("/api/v1/auth/login", json={"identity_token": token})
    ).status_code == 200
    again = await b.post("/api/v1/auth/login", json={"identity_token": token})
    assert again.status_code == 401


async def test_the_login_rate_limit_is_kept_in_real_redis(tmp_path, pg_url, redis_url):
    await apply_migrations(pg_url)
    settings = make_settings(
        tmp_path, database_url=pg_url, redis_url=redis_url, login_rate_limit="2/minute"
    )
    async with backend_with_gateway(settings) as stack:
        codes = []
        for _ in range(3):
            token = await identity_token(stack, LI)
            codes.append(
                (
                    await stack.client.post("/api/v1/auth/login", json={"identity_token": token})
                ).status_code
            )
    assert codes == [200, 200, 429]
