from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager

from mock_gateway.app import create_app
from mock_gateway.config import MockConfig
from mock_gateway.inprocess import MockGatewayTransport
from mock_gateway.signing import signed_headers

APP_KEY = "lingpao-test"
SECRET = "mock-test-secret-0123456789"


def mock_config(**overrides) -> MockConfig:
    values: dict[str, Any] = dict(app_key=APP_KEY, app_secret=SECRET, intake_delay_seconds=0.0)
    values.update(overrides)
    return MockConfig(**values)


class Gateway:
    """A mock gateway served in-process, with helpers that sign like the backend does."""

    def __init__(self, app, client: httpx.AsyncClient) -> None:
        self.app, self.http = app, client

    async def signed(
        self,
        method: str,
        path: str,
        body: object = None,
        extra_headers: dict | None = None,
        now: float | None = None,
    ) -> httpx.Response:
        raw = b"" if body is None else orjson.dumps(body)
        headers = signed_headers(APP_KEY, SECRET, method, path, raw, now=now)
        headers["content-type"] = "application/json"
        headers.update(extra_headers or {})
        return await self.http.request(method, path, content=raw, headers=headers)


async def start_gateway(config: MockConfig, callback_transport=None):
    app = create_app(config, callback_transport=callback_transport)
    manager = LifespanManager(app)
    await manager.__aenter__()
    client = httpx.AsyncClient(transport=MockGatewayTransport(app), base_url="http://gateway.test")
    return Gateway(app, client), manager


@pytest.fixture
async def gateway():
    gw, manager = await start_gateway(mock_config())
    yield gw
    await gw.http.aclose()
    await manager.__aexit__(None, None, None)
