"""Every request's count, latency and access-log line are made in batches a moment after
it: JSON lines written together, never blocking a request, none lost."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from server import observability
from server.observability import Metrics, RequestObserver, configure_logging


@pytest.fixture
def stream():
    buffer = io.StringIO()
    handler = configure_logging("INFO", stream=buffer)
    yield buffer
    logging.getLogger().removeHandler(handler)


def answered(observer: RequestObserver, rid: str, status: int = 200) -> None:
    """A request through the observer as the app's middleware passes it."""
    request = SimpleNamespace(
        ctx=SimpleNamespace(),
        headers={"x-request-id": rid},
        method="GET",
        route=SimpleNamespace(path="api/v1/items"),
    )
    response = SimpleNamespace(headers={}, status=status)
    observer.start(request)  # type: ignore[arg-type]
    observer.finish(request, response)  # type: ignore[arg-type]
    assert response.headers["X-Request-ID"] == rid


def requests_counted(metrics: Metrics) -> float:
    return sum(
        sample.value
        for family in metrics.registry.collect()
        if family.name == "lingpao_http_requests"
        for sample in family.samples
        if sample.name.endswith("_total")
    )


async def test_lines_and_counts_come_together_a_moment_after_the_requests(stream):
    metrics = Metrics()
    observer = RequestObserver(metrics)
    for n in range(3):
        answered(observer, f"rid-{n}")
    assert stream.getvalue() == "" and requests_counted(metrics) == 0
    await asyncio.sleep(observability.FLUSH_SECONDS * 3)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and requests_counted(metrics) == 3
    entry = json.loads(lines[0].split(" INFO lingpao.access ", 1)[1])
    assert entry.keys() == {"method", "route", "status", "duration_ms", "request_id"}
    assert entry["request_id"] == "rid-0" and entry["route"] == "api/v1/items"


async def test_past_the_bound_the_batch_is_made_at_once_and_nothing_is_dropped(stream, monkeypatch):
    monkeypatch.setattr(observability, "MAX_PENDING", 5)
    metrics = Metrics()
    observer = RequestObserver(metrics)
    for n in range(8):
        answered(observer, f"r{n}")
    assert len(stream.getvalue().splitlines()) == 5 and requests_counted(metrics) == 5
    observer.flush()
    assert len(stream.getvalue().splitlines()) == 8 and requests_counted(metrics) == 8


async def test_a_broken_log_stream_costs_the_lines_and_not_the_counts(stream):
    stream.close()
    metrics = Metrics()
    observer = RequestObserver(metrics)
    answered(observer, "r1", status=503)
    observer.flush()
    assert requests_counted(metrics) == 1
    dropped = metrics.access_log_dropped.labels("write_failed")._value.get()
    assert dropped == 1


async def test_a_flush_writes_what_is_pending(stream):
    observer = RequestObserver(Metrics())
    answered(observer, "last", status=401)
    observer.flush()
    assert '"request_id":"last"' in stream.getvalue()
    assert '"status":401' in stream.getvalue()


async def test_a_stopping_worker_writes_its_last_batch_before_closing_anything(stream, tmp_path):
    from server.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path), name="lingpao_last_batch")
    answered(app.ctx.observer, "the-last-one")
    close: Any = next(
        f.listener for f in app._future_listeners if f.listener.__name__ == "close_container"
    )
    app.ctx.container = None  # nothing was opened: only the flush has work to do
    await close(app)
    assert '"request_id":"the-last-one"' in stream.getvalue()
