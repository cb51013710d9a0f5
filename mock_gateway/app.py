"""The mock provincial gateway as a Sanic app: `create_app(config)` builds it; nothing runs
at import.

Laid out as the backend's server/app.py: the demo data is built once into a typed context
(context.py), each feature of the gateway is a blueprint (routes/), what every request passes
through is app-wide middleware (middleware.py), and what must live in the serving event loop
(the callback senders, the intake's background work) opens in `before_server_start` and
closes in `after_server_stop`.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sanic import Sanic

from mock_gateway import middleware, results
from mock_gateway.callbacks import Callbacks
from mock_gateway.config import MockConfig
from mock_gateway.context import App, GatewayContext
from mock_gateway.intake import Intake
from mock_gateway.routes import admin, catalog, certificates, health, idp, intake


def create_app(
    config: MockConfig,
    *,
    name: str = "mock_gateway",
    callback_transport: httpx.AsyncBaseTransport | None = None,
) -> Sanic:
    """Builds the gateway; `callback_transport` lets tests take its callbacks in-process.

    Returned as a plain Sanic, its ctx untyped: tests keep clients of their own on it."""
    app: App = Sanic(name, ctx=GatewayContext.build(config), configure_logging=False)
    _configure(app)
    _install_lifecycle(app, callback_transport)
    middleware.install(app)
    for feature in (health, idp, catalog, certificates, intake, admin):
        app.blueprint(feature.bp)
    if config.development:
        idp.allow_browser_sign_in(app)
    return app


def _configure(app: App) -> None:
    # No OpenAPI document: the mock needs none, and sanic-ext's start banner would announce
    # documentation on the mock's port, where a reader of the run log looks for the API's.
    app.config.OAS = False
    # No automatic OPTIONS/HEAD routes: they slow every start and the backend sends neither.
    app.config.HTTP_AUTO_OPTIONS = False
    app.config.HTTP_AUTO_HEAD = False
    app.config.CORS_AUTOMATIC_OPTIONS = False
    app.config.FALLBACK_ERROR_FORMAT = "json"


def _install_lifecycle(app: App, callback_transport: httpx.AsyncBaseTransport | None) -> None:
    @app.before_server_start
    async def open_intake(app: App) -> None:
        ctx = app.ctx
        ctx.callbacks = Callbacks(ctx.config, callback_transport)
        ctx.intake = Intake(
            ctx.items,
            _holds_valid(ctx),
            ctx.callbacks.deliver,
            ctx.config.intake_delay_seconds,
            results.issuer(ctx.library, ctx.register),
        )

    @app.after_server_stop
    async def close_intake(app: App) -> None:
        await app.ctx.intake.close()
        await app.ctx.callbacks.aclose()


def _holds_valid(ctx: GatewayContext) -> Callable[[str, str, str], bool]:
    """The intake's check of a certificate material: the holder's, valid, of the type asked."""

    def check(certificate_id: str, holder: str, type_code: str) -> bool:
        document = ctx.library.get(certificate_id, holder)
        return bool(
            document and document["status"] == "valid" and document["type_code"] == type_code
        )

    return check
