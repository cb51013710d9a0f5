"""Real PostgreSQL and Redis for the suites that need them (integration, faults), or a skip
saying why.

Each run creates a database of its own (dropped at the end) and flushes its Redis DB index,
so two runs never see each other's data. These suites run in a pytest process of their own
(see the Makefile): tortoise keeps per-dialect state that must not leak from the SQLite suites.
A suite's conftest imports the fixtures it wants from here.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis.asyncio as redis

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")

SKIP_REASON = "integration tests need TEST_DATABASE_URL and TEST_REDIS_URL (real PostgreSQL, Redis)"


def skip_without_real_services(items, folder: str) -> None:
    """Called from a suite's pytest_collection_modifyitems: in CI a skip is a failure."""
    if TEST_DATABASE_URL and TEST_REDIS_URL:
        return
    if os.environ.get("LINGPAO_REQUIRE_INTEGRATION"):
        raise pytest.UsageError(SKIP_REASON + ", and LINGPAO_REQUIRE_INTEGRATION is set")
    for item in items:
        if folder in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
async def pg_url():
    name = f"lingpao_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(TEST_DATABASE_URL.replace("postgres://", "postgresql://", 1))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(TEST_DATABASE_URL, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def emptied(url: str) -> str:
    """`url`, with its Redis DB index flushed first: rate limits must not carry over."""
    client = redis.Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    return url


@pytest.fixture(scope="session")
async def redis_url():
    return await emptied(TEST_REDIS_URL)


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A database of its own, migrated, dropped afterwards: for tests that count every row."""
    name = f"lingpao_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(TEST_DATABASE_URL.replace("postgres://", "postgresql://", 1))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(TEST_DATABASE_URL, name)
    try:
        from store.db import apply_migrations

        await apply_migrations(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def fresh_pg_url(pg_url):
    async with fresh_database() as url:
        yield url
