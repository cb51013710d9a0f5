"""The access log writes JSON lines in batches, never blocks a request, and says what it
had to drop."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from server import access_log
from server.access_log import AccessLog
from server.observability import configure_logging


@pytest.fixture
def stream():
    buffer = io.StringIO()
    handler = configure_logging("INFO", stream=buffer)
    yield buffer
    logging.getLogger().removeHandler(handler)


async def test_lines_reach_the_log_stream_together_a_moment_after_the_requests(stream):
    log = AccessLog()
    for n in range(3):
        log.record("GET", "api/v1/items", 200, 0.0012, f"rid-{n}")
    assert stream.getvalue() == ""
    await asyncio.sleep(access_log.FLUSH_SECONDS * 3)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    entry = json.loads(lines[0].split(" INFO lingpao.access ", 1)[1])
    assert entry == {
        "method": "GET",
        "route": "api/v1/items",
        "status": 200,
        "duration_ms": 1.2,
        "request_id": "rid-0",
    }


async def test_past_the_bound_lines_are_dropped_and_counted_not_queued(stream, monkeypatch):
    monkeypatch.setattr(access_log, "MAX_PENDING", 5)
    dropped: list[int] = []
    log = AccessLog(on_drop=lambda n, reason: dropped.append(n))
    for n in range(8):
        log.record("GET", "healthz", 200, 0.0, f"r{n}")
    log.close()
    assert len(stream.getvalue().splitlines()) == 5
    assert sum(dropped) == 3


async def test_a_broken_log_stream_costs_the_lines_and_nothing_else(stream):
    stream.close()
    dropped: list[int] = []
    log = AccessLog(on_drop=lambda n, reason: dropped.append(n))
    log.record("GET", "healthz", 200, 0.0, "r1")
    log.close()
    assert dropped == [1]


async def test_closing_writes_what_is_pending(stream):
    log = AccessLog()
    log.record("POST", "api/v1/auth/login", 401, 0.01, "last")
    log.close()
    assert '"request_id":"last"' in stream.getvalue()
