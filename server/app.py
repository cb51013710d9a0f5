"""The application factory: `create_app(settings)` builds a Sanic app; nothing runs at import.

What the app is made of is built in `server.bootstrap`; this module only gives it to Sanic:
per worker, the container opens in `before_server_start`, the background tasks are named
Sanic tasks, and everything closes in `after_server_stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable

from sanic import Sanic
from sanic.exceptions import PayloadTooLarge, URITooLong
from sanic.request import Request
from sanic.response import BaseHTTPResponse
from sanic_ext.extensions.http.extension import HTTPExtension

from core.numbers import plain_int
from server import bootstrap
from server.context import CATALOG_BOOTSTRAP, CATALOG_LISTENER, OUTBOX_LOOP, App, AppContext
from server.errors import register_errors
from server.observability import Metrics, RequestObserver, configure_logging
from server.routes import (
    applications,
    auth,
    certificates,
    console,
    docs,
    health,
    items,
    ops,
    uploads,
)
from server.settings import Settings
from services.gateway import Transport

APP_NAME = "lingpao"
# The whole header block may take Sanic's ceiling, 16 KiB; the URI at most half of it, so a
# long URL is told apart (414) from long headers (431).
MAX_HEADER_BYTES = 16_384
MAX_URI_BYTES = 8192
BOOTSTRAP_STOP_SECONDS = 30.0
LISTENER_STOP_SECONDS = 3.0
# How long a stopping server lets deliveries in flight finish before it releases them.
OUTBOX_STOP_SECONDS = 10.0

log = logging.getLogger("lingpao.app")


def create_app(
    settings: Settings, *, name: str = APP_NAME, gateway_transport: Transport | None = None
) -> App:
    """Builds the app; `gateway_transport` lets tests put the mock gateway in-process."""
    # Sanic would dictConfig its own loggers and disable ours; logging is configured here.
    app: App = Sanic(name, ctx=AppContext(settings, Metrics()), configure_logging=False)
    _configure(app, settings)
    register_errors(app)
    _install_middleware(app, settings.max_body_bytes)
    _install_lifecycle(app, gateway_transport)
    for feature in (health, auth, items, ops, certificates, applications, uploads, console, docs):
        app.blueprint(feature.bp)
    return app


def _configure(app: App, settings: Settings) -> None:
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    app.config.REQUEST_MAX_HEADER_SIZE = MAX_HEADER_BYTES
    # Sanic stops accepting, then waits this long for requests in flight before it cuts them.
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = settings.shutdown_grace_seconds
    app.config.ACCESS_LOG = False
    app.config.FALLBACK_ERROR_FORMAT = "json"
    # The OpenAPI document is ours (server/openapi): sanic-ext's builder dropped schemas
    # and held every app it documented. Its other extensions stay available.
    app.config.OAS = False
    app.config.CORS = False
    # Automatic OPTIONS routes re-render the router once per route at every start and the
    # mobile API needs none. HEAD is HTTP's own promise for every GET route (load balancers
    # and caches use it): it costs about 0.1 s per start, measured in the test suite.
    app.config.HTTP_AUTO_OPTIONS = False
    app.config.HTTP_AUTO_HEAD = True
    app.config.CORS_AUTOMATIC_OPTIONS = False
    # Of sanic-ext, only HEAD for GET routes is used. Its dependency injection, unused here,
    # dispatches a signal on every request: ~9% of a 304's time (issue 13). The OpenAPI,
    # health and logging extensions are off or unused.
    app.extend(built_in_extensions=False, extensions=[HTTPExtension])


def _install_middleware(app: App, max_bytes: int) -> None:
    # One request and one response middleware for what every request needs: each one Sanic
    # runs is a coroutine of its own per request (issue 13).
    observer = app.ctx.observer

    @app.middleware("request", priority=1000)
    async def before(request: Request) -> None:
        observer.start(request)
        _check_size(request, max_bytes)

    @app.middleware("response", priority=1000)
    async def after(request: Request, response: BaseHTTPResponse) -> None:
        # Whatever a signed-in caller is answered is about them: no cache may keep it, on
        # the phone or on the way. One rule here rather than one header per route, so a
        # new personal route cannot forget it.
        if getattr(request.ctx, "principal", None) is not None:
            response.headers["Cache-Control"] = "no-store"
        observer.finish(request, response)


def _busy(observer: RequestObserver, at: int) -> Callable[[], bool] | None:
    """When the delivery loop yields to requests (`OUTBOX_YIELD_AT`)."""
    if at <= 0:
        return None
    return lambda: observer.in_flight >= at


def _check_size(request: Request, max_bytes: int) -> None:
    # Sanic enforces REQUEST_MAX_SIZE on its own server; under ASGI it does not, so the
    # declared length is checked here too and both paths answer the same 413. Streaming
    # routes are exempt here as Sanic exempts them: each reads, and limits, its own body
    # (uploads: server/multipart.py).
    if len(request.path) + len(request.query_string) > MAX_URI_BYTES:
        raise URITooLong("URI too long")
    if request.route is not None and request.route.extra.stream:
        return
    declared = request.headers.get("content-length")
    if declared and (plain_int(declared) or 0) > max_bytes:
        raise PayloadTooLarge("body too large")


def _install_lifecycle(app: App, gateway_transport: Transport | None) -> None:
    @app.before_server_start
    async def open_container(app: App) -> None:
        settings = app.ctx.settings
        if not app.test_mode:
            configure_logging(settings.log_level)
        app.ctx.stopping = asyncio.Event()
        app.ctx.container = await bootstrap.build(
            settings,
            gateway_transport=gateway_transport,
            on_gateway_outcome=app.ctx.metrics.gateway_outcome,
            on_delivery=app.ctx.metrics.outbox_outcome,
            busy=_busy(app.ctx.observer, settings.outbox_yield_at),
        )
        await app.ctx.container.catalog.version.prime()

    @app.after_server_start
    async def start_background_work(app: App) -> None:
        catalog = _container(app).catalog
        work = {
            CATALOG_LISTENER: catalog.version.listen(app.ctx.stopping),
            CATALOG_BOOTSTRAP: catalog.fill_when_empty(app.ctx.stopping),
        }
        if app.ctx.settings.outbox_in_server:
            work[OUTBOX_LOOP] = _container(app).outbox.run(app.ctx.stopping)
        for name, coroutine in work.items():
            task = app.add_task(coroutine, name=name, register=False)
            assert task is not None, "the loop runs in after_server_start"
            app.ctx.background[name] = task
        if not app.test_mode:
            # What startup built (modules, the container, the catalog) lives as long as
            # the worker: out of the collector's sight, a full collection no longer walks
            # it under load. /me's p99 went from 17-32 ms to 11-13 ms (issue 13).
            gc.collect()
            gc.freeze()

    @app.before_server_stop
    async def stop_background_work(app: App) -> None:
        app.ctx.stopping.set()
        tasks = app.ctx.background
        # Side by side and within the grace period: Sanic drains the requests in flight only
        # after this, and a stop must not take longer than twice SHUTDOWN_GRACE_SECONDS.
        grace = app.ctx.settings.shutdown_grace_seconds
        await asyncio.gather(
            # The bootstrap stops between attempts, never inside a transaction: wait for it.
            _finish(tasks.pop(CATALOG_BOOTSTRAP, None), min(BOOTSTRAP_STOP_SECONDS, grace)),
            _finish(tasks.pop(CATALOG_LISTENER, None), min(LISTENER_STOP_SECONDS, grace)),
            # Deliveries in flight finish; past this they are cancelled, which releases
            # their rows unmarked for the next worker.
            _finish(tasks.pop(OUTBOX_LOOP, None), min(OUTBOX_STOP_SECONDS, grace)),
            _finish(app.ctx.gauge_refresh, 0),
        )

    @app.after_server_stop
    async def close_container(app: App) -> None:
        # The last batch of counts and log lines first: nothing failing to close may cost it.
        app.ctx.observer.flush()
        if app.ctx.container is not None:
            await app.ctx.container.aclose()
            app.ctx.container = None


async def _finish(task: asyncio.Task[None] | None, grace: float) -> None:
    """Lets `task` end by itself within `grace` seconds, then cancels it."""
    if task is None:
        return
    done, _ = await asyncio.wait([task], timeout=grace) if grace > 0 else (set(), None)
    if task not in done:
        if grace > 0:
            log.error("%s did not stop within %.0f s; cancelling it", task.get_name(), grace)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def _container(app: App) -> bootstrap.Container:
    assert app.ctx.container is not None, "opened in before_server_start"
    return app.ctx.container
