"""The fault suite: real PostgreSQL behind a proxy that breaks on purpose, a redis-server of
its own to stop and restart, and the mock gateway's fault knobs."""

from __future__ import annotations

import pytest

from tests.faults.redis_server import RedisServer
from tests.real_services import fresh_pg_url, pg_url, redis_url, skip_without_real_services

__all__ = ["fresh_pg_url", "pg_url", "redis_url"]


def pytest_collection_modifyitems(config, items):
    skip_without_real_services(items, "tests/faults")


@pytest.fixture
def own_redis():
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()
