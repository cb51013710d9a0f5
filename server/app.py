"""The application factory: `create_app(settings)` builds a Sanic app; nothing runs at import."""

from __future__ import annotations

import asyncio
import contextlib

from sanic import Sanic
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request

from server.errors import register_errors
from server.observability import configure_logging, install_observability
from server.routes import auth, certificates, health, items, ops
from server.settings import Settings
from server.wiring import build_auth, build_certificates, catalog_bootstrap
from services import db, kv
from services.cache import CatalogVersion
from services.gateway import GatewayClient, Transport
from services.issuers import IssuerKeys

APP_NAME = "lingpao"


def create_app(settings: Settings, *, name: str = APP_NAME,
               gateway_transport: Transport | None = None) -> Sanic:
    """Builds the app; `gateway_transport` lets tests put the mock gateway in-process."""
    # Sanic would dictConfig its own loggers and disable ours; logging is configured here.
    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    app.config.ACCESS_LOG = False
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.OAS_URL_PREFIX = "/docs"
    app.config.OAS_UI_DEFAULT = "redoc"
    app.config.OAS_UI_SWAGGER = False
    app.config.CORS = False
    # Automatic OPTIONS/HEAD routes re-render the router once per route at every start,
    # which costs more than the rest of the start-up; the mobile API needs neither.
    app.config.HTTP_AUTO_OPTIONS = False
    app.config.HTTP_AUTO_HEAD = False
    app.config.CORS_AUTOMATIC_OPTIONS = False
    app.ext.openapi.add_security_scheme("bearer", "http", scheme="bearer", bearer_format="JWT")
    app.ext.openapi.describe(
        "Lingpao 零跑 API",
        version="1.0",
        description="Backend of a mobile mini-app for zero-trip government services.",
    )
    app.ctx.settings = settings

    install_observability(app)
    register_errors(app)
    _install_body_limit(app, settings.max_body_bytes)
    _install_resources(app, settings, gateway_transport)
    app.blueprint(health.bp)
    app.blueprint(auth.bp)
    app.blueprint(items.bp)
    app.blueprint(ops.bp)
    app.blueprint(certificates.bp)
    return app


def _install_body_limit(app: Sanic, max_bytes: int) -> None:
    # Sanic enforces REQUEST_MAX_SIZE on its own server; under ASGI it does not, so the
    # declared length is checked here too and both paths answer the same 413.
    @app.on_request(priority=900)
    async def limit(request: Request) -> None:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise PayloadTooLarge("body too large")


def _install_resources(app: Sanic, settings: Settings,
                       gateway_transport: Transport | None) -> None:
    @app.before_server_start
    async def open_resources(app: Sanic) -> None:
        if not app.test_mode:
            configure_logging(settings.log_level)
        await db.open_database(settings.database_url)
        app.ctx.redis = kv.open_redis(settings.redis_url)
        app.ctx.gateway = GatewayClient(
            settings.gateway_url,
            settings.gateway_app_key,
            settings.gateway_app_secret,
            timeout_seconds=settings.gateway_timeout_seconds,
            transport=gateway_transport,
            on_outcome=app.ctx.metrics.gateway_outcome,
        )
        app.ctx.issuer_keys = IssuerKeys(app.ctx.gateway.certificate_issuers)
        build_auth(app, settings)
        build_certificates(app)
        app.ctx.catalog_version = CatalogVersion(app.ctx.redis)
        await app.ctx.catalog_version.start()

    @app.after_server_start
    async def bootstrap_catalog(app: Sanic) -> None:
        app.ctx.stopping = asyncio.Event()
        app.ctx.bootstrap = asyncio.get_running_loop().create_task(
            catalog_bootstrap(app, app.ctx.stopping))

    @app.before_server_stop
    async def stop_tasks(app: Sanic) -> None:
        app.ctx.stopping.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(app.ctx.bootstrap), 30)
        await app.ctx.catalog_version.stop()

    @app.after_server_stop
    async def close_resources(app: Sanic) -> None:
        await app.ctx.gateway.aclose()
        await app.ctx.redis.aclose()
        await db.close_database()
