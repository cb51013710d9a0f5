"""The app's typed context: what `request.app.ctx` holds, and nothing else."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sanic import Sanic
from sanic.config import Config
from sanic.request import Request

from server.bootstrap import Container
from server.observability import Metrics, RequestObserver
from server.settings import Settings

CATALOG_LISTENER = "lingpao.catalog-listener"
CATALOG_BOOTSTRAP = "lingpao.catalog-bootstrap"
OUTBOX_LOOP = "lingpao.outbox"


@dataclass
class AppContext:
    settings: Settings
    metrics: Metrics
    # Built per worker in before_server_start: resources must open inside its event loop.
    container: Container | None = None
    # Set when the server is stopping, so background work ends between steps; made anew
    # at each start, in that start's event loop.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # Our background tasks by name. Not in Sanic's registry: Sanic would cancel them at
    # shutdown wherever they are, and ours must end between steps, not inside one.
    background: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    # The one refresh of the database-fed gauges in flight, so a stalled database gets
    # one query from /metrics, not one per scrape.
    gauge_refresh: asyncio.Task[None] | None = None
    # The OpenAPI document, serialised at its first request (server/routes/docs.py).
    openapi: bytes | None = None
    # Every request's id, counts, latency and access-log line (server/observability.py).
    observer: RequestObserver = field(init=False)

    def __post_init__(self) -> None:
        self.observer = RequestObserver(self.metrics)


App = Sanic[Config, AppContext]


def services(request: Request) -> Container:
    """The container of the worker serving this request."""
    container = request.app.ctx.container
    if container is None:  # pragma: no cover - listeners run before any request
        raise RuntimeError("the app is not started")
    return container
