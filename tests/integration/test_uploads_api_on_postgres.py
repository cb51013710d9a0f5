"""tests/api/test_uploads.py again, on real PostgreSQL and Redis.

The same promises must hold on the engines a deployment runs, not only on the embedded
defaults."""

from __future__ import annotations

import pytest
import redis.asyncio as redis

from tests.api.test_uploads import *  # noqa: F403 - every test of that module, rerun here
from tests.conftest import backend_with_gateway, make_settings


@pytest.fixture
async def stack(tmp_path, fresh_pg_url, redis_url):
    # Each test its own database and an empty Redis: rate limits must not carry over.
    client = redis.Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    settings = make_settings(tmp_path, database_url=fresh_pg_url, redis_url=redis_url)
    async with backend_with_gateway(settings) as running:
        yield running
