"""Fixtures shared by every suite: settings in a temporary folder and an app in-process."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sanic import Sanic

from server.settings import Settings

Sanic.test_mode = True  # lets every test build a fresh app under the same name


def make_settings(tmp: Path, **overrides) -> Settings:
    keys = tmp / "keys"
    values = dict(
        keys_dir=str(keys),
        token_key_path=str(keys / "token_signing.pem"),
        database_url=f"sqlite://{tmp / 'lingpao.sqlite3'}",
        redis_url=None,
        gateway_app_secret="test-gateway-secret-0123456789",
        pii_key=base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    values.update(overrides)
    return Settings.from_env({}, **values).ensure_secrets()


@asynccontextmanager
async def serve_in_process(app: Sanic) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's startup and shutdown listeners around an httpx client bound to it."""
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lingpao.test") as c:
            yield c


@pytest.fixture
def log_output():
    """Everything logged during the test, through the same handler setup as the server."""
    import io
    import logging

    from server.observability import configure_logging

    buffer = io.StringIO()
    handler = configure_logging("INFO", stream=buffer)
    yield buffer
    logging.getLogger().removeHandler(handler)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)
