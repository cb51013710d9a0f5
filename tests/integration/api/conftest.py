"""The API test modules of tests/api, rerun here on real PostgreSQL and Redis.

The same promises must hold on the engines a deployment runs, not only on the embedded
defaults: each module here imports one module's tests, and this `stack` replaces the
SQLite one they were written against.
"""

from __future__ import annotations

import pytest

from tests.conftest import backend_with_gateway, make_settings
from tests.real_services import emptied, fresh_database


@pytest.fixture
async def stack(tmp_path, fresh_pg_url, redis_url):
    # Each test its own database and an empty Redis: rate limits must not carry over.
    await emptied(redis_url)
    settings = make_settings(tmp_path, database_url=fresh_pg_url, redis_url=redis_url)
    async with backend_with_gateway(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def matrix_stores(redis_url):
    """The bad-input matrix on a database of its own and the real Redis."""
    await emptied(redis_url)
    async with fresh_database() as url:
        yield {"database_url": url, "redis_url": redis_url}
