"""Serving the mock in-process: an httpx transport that behaves like the network would.

Through ASGI a Sanic app can only answer; it cannot make a host vanish. This transport
raises httpx.ConnectError while the ``down`` fault is on, and httpx.RemoteProtocolError for
an answer the ``reset_after_accept`` fault cut off, as a client would see them on a real
socket, and otherwise hands the request to the app.
"""

from __future__ import annotations

import httpx
from sanic import Sanic

from mock_gateway.middleware import RESET_HEADER


class MockGatewayTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: Sanic) -> None:
        self.app = app
        self._asgi = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.app.ctx.faults.down and not request.url.path.startswith("/_admin/"):
            raise httpx.ConnectError("connection refused (mock gateway is down)", request=request)
        response = await self._asgi.handle_async_request(request)
        if RESET_HEADER in response.headers:
            await response.aclose()
            raise httpx.RemoteProtocolError(
                "server disconnected without sending a response (mock reset)", request=request
            )
        return response
