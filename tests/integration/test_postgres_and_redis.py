"""The foundation on real PostgreSQL and Redis: migrations, readiness and the audit table."""

from __future__ import annotations

import asyncpg

from store.db import apply_migrations
from tests.conftest import backend_with_gateway, make_settings


async def test_migrations_build_the_schema_on_postgres_and_are_idempotent(pg_url):
    await apply_migrations(pg_url)
    await apply_migrations(pg_url)
    conn = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://", 1))
    try:
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    finally:
        await conn.close()
    assert {"audit_entry", "tortoise_migrations"} <= tables


async def test_readyz_is_ok_on_real_postgres_and_redis(tmp_path, pg_url, redis_url):
    await apply_migrations(pg_url)
    settings = make_settings(tmp_path, database_url=pg_url, redis_url=redis_url)
    async with backend_with_gateway(settings) as stack:
        response = await stack.client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "gateway": "ok"}


async def test_readyz_names_redis_when_the_real_database_is_up_but_redis_is_not(tmp_path, pg_url):
    settings = make_settings(tmp_path, database_url=pg_url, redis_url="redis://127.0.0.1:1/0")
    async with backend_with_gateway(settings) as stack:
        response = await stack.client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["redis"]
