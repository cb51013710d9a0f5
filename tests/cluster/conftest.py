"""The scale-out suite: Lingpao behind HAProxy, over Redis Sentinel and Redis Cluster that
the tests start themselves on spare ports. Skipped, saying what is missing, without real
PostgreSQL and Redis or without haproxy; in CI (LINGPAO_REQUIRE_INTEGRATION) a skip fails."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.faults.processes import gateway_process
from tests.real_services import pg_url, redis_url, skip_without_real_services

__all__ = ["gateway_process", "pg_url", "redis_url"]


def pytest_collection_modifyitems(config, items):
    skip_without_real_services(items, "tests/cluster")
    for item in items:
        if "tests/cluster" not in str(item.fspath):
            continue
        missing = [b for b in getattr(item.module, "NEEDS", ()) if shutil.which(b) is None]
        if not missing:
            continue
        reason = f"needs {', '.join(missing)} (Debian: apt-get install {' '.join(missing)})"
        if os.environ.get("LINGPAO_REQUIRE_INTEGRATION"):
            raise pytest.UsageError(reason + ", and LINGPAO_REQUIRE_INTEGRATION is set")
        item.add_marker(pytest.mark.skip(reason=reason))
