"""Integration tests run against real PostgreSQL and Redis, or are skipped saying why."""

from __future__ import annotations

from tests.real_services import fresh_pg_url, pg_url, redis_url, skip_without_real_services

__all__ = ["fresh_pg_url", "pg_url", "redis_url"]


def pytest_collection_modifyitems(config, items):
    skip_without_real_services(items, "tests/integration")
