"""Fixtures shared by every suite: settings in a temporary folder, the app and the mock
gateway both served in-process."""

from __future__ import annotations

import asyncio
import base64
import functools
import io
import logging
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sanic import Sanic

from mock_gateway.app import create_app as create_gateway
from mock_gateway.config import MockConfig
from mock_gateway.inprocess import MockGatewayTransport
from server.app import create_app
from server.openapi import document
from server.routes.docs import DESCRIPTION, TITLE, VERSION
from server.settings import Settings
from tests.openapi_conformance import Conformance

Sanic.test_mode = True  # lets every test build a fresh app under the same name

BACKEND_URL = "http://lingpao.test"


def make_settings(tmp: Path, **overrides) -> Settings:
    keys = tmp / "keys"
    values = dict(
        keys_dir=str(keys),
        token_key_path=str(keys / "token_signing.pem"),
        uploads_dir=str(tmp / "uploads"),
        database_url=f"sqlite://{tmp / 'lingpao.sqlite3'}",
        redis_url=None,
        gateway_url="http://gateway.test",
        gateway_app_key="lingpao-test",
        gateway_app_secret="test-gateway-secret-0123456789",
        pii_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        callback_url=f"{BACKEND_URL}/api/v1/gateway/callbacks",
    )
    values.update(overrides)
    return Settings.from_env({}, **values).ensure_secrets()


@functools.cache
def conformance() -> Conformance:
    """The published document, built once from a fresh app: routes a test adds for itself
    are not in it, and their responses are not checked."""
    settings = make_settings(Path(tempfile.mkdtemp(prefix="lingpao-doc-")))
    app = create_app(settings, name="lingpao_document")
    return Conformance(document.build(app, TITLE, VERSION, DESCRIPTION))


async def _conforms(response: httpx.Response) -> None:
    await response.aread()
    conformance().check(response)


@asynccontextmanager
async def serve_in_process(
    app: Sanic, base_url: str = BACKEND_URL, *, checked: bool = False
) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's startup and shutdown listeners around an httpx client bound to it;
    `checked`: every response must be what the OpenAPI document promises.

    The shutdown runs even when the test failed: asgi_lifespan skips it then, which left
    the app's background tasks running into every later test of the session."""
    manager = LifespanManager(app, startup_timeout=30, shutdown_timeout=30)
    await manager.__aenter__()
    hooks = {"response": [_conforms]} if checked else {}
    try:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url=base_url, event_hooks=hooks
        ) as client:
            yield client
    finally:
        await manager.__aexit__(None, None, None)


@dataclass
class Stack:
    """The backend and the mock gateway, wired to each other in-process."""

    client: httpx.AsyncClient  # speaks to the backend
    gateway: httpx.AsyncClient  # speaks to the mock gateway (admin knobs, IdP)
    app: Sanic
    gateway_app: Sanic


class CallbacksToBackend(httpx.AsyncBaseTransport):
    """The mock gateway's callbacks, delivered to the in-process backend once it exists."""

    def __init__(self) -> None:
        self.app: Sanic | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.app is not None, "the backend is created right after the gateway"
        return await httpx.ASGITransport(app=self.app).handle_async_request(request)


@asynccontextmanager
async def backend_with_gateway(
    settings: Settings, *, app_hook=None, gateway_transport=None
) -> AsyncIterator[Stack]:
    callbacks = CallbacksToBackend()
    gateway_app = create_gateway(
        MockConfig(
            app_key=settings.gateway_app_key,
            app_secret=settings.gateway_app_secret,
            intake_delay_seconds=0.0,
            signature=settings.gateway_signature,
        ),
        name="mock_gateway",
        callback_transport=callbacks,
    )
    app = create_app(
        settings, gateway_transport=gateway_transport or MockGatewayTransport(gateway_app)
    )
    callbacks.app = app
    if app_hook:
        app_hook(app)
    async with AsyncExitStack() as stack:
        gateway = await stack.enter_async_context(
            serve_in_process(gateway_app, base_url="http://gateway.test")
        )
        client = await stack.enter_async_context(serve_in_process(app, checked=True))
        try:
            yield Stack(client, gateway, app, gateway_app)
        finally:
            # No callback may reach the backend while it shuts down.
            await gateway_app.ctx.intake.close()


@pytest.fixture
def log_output():
    """Everything logged during the test, through the same handler setup as the server."""
    from server.observability import configure_logging

    buffer = io.StringIO()
    handler = configure_logging("INFO", stream=buffer)
    yield buffer
    logging.getLogger().removeHandler(handler)


async def logged_with(log_output: io.StringIO, needle: str, timeout: float = 2.0) -> str:
    """What was logged, once `needle` is in it: access-log lines are written in batches
    (server/access_log.py), a moment after the response."""
    deadline = asyncio.get_running_loop().time() + timeout
    while needle not in log_output.getvalue():
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.01)
    return log_output.getvalue()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)
