"""The status callbacks the intake pushes to the backend, signed as the real gateway signs
them."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import aiohttp
import httpx
import orjson
from httpx_aiohttp import AiohttpTransport

from mock_gateway import signing
from mock_gateway.config import MockConfig

CALLBACK_SENDERS = 32
CALLBACK_TIMEOUT_SECONDS = 5.0


class Callbacks:
    """Opened per server start: the semaphore and the client belong to its event loop."""

    def __init__(self, config: MockConfig, transport: httpx.AsyncBaseTransport | None) -> None:
        self._config = config
        # Callbacks go out through a fixed set of senders, as a real gateway's pusher does:
        # a burst of thousands of applications queues its callbacks here, rather than all
        # racing for the client's connections and failing the pool's wait (PoolTimeout),
        # which then piled retries on top of the burst.
        self._senders = asyncio.Semaphore(CALLBACK_SENDERS)
        self._http = httpx.AsyncClient(
            transport=transport or _sockets(),  # its own connection limit
            timeout=CALLBACK_TIMEOUT_SECONDS,
        )

    async def deliver(self, url: str, payload: dict) -> bool:
        """True when the backend acknowledged the callback (any 2xx)."""
        async with self._senders:
            return await self._send(url, payload)

    async def _send(self, url: str, payload: dict) -> bool:
        config = self._config
        body = orjson.dumps(payload)
        parts = urlsplit(url)
        path_qs = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = signing.signed_headers(
            config.app_key, config.app_secret, "POST", path_qs, body, algorithm=config.signature
        )
        headers["Content-Type"] = "application/json"
        response = await self._http.post(url, content=body, headers=headers)
        return 200 <= response.status_code < 300

    async def aclose(self) -> None:
        await self._http.aclose()


def _sockets() -> AiohttpTransport:
    """Callbacks over aiohttp's pool, as Lingpao's own gateway client sends: httpcore's
    walks and polls every pooled connection on each call, which was 88% of this mock's CPU
    under a filing burst, on the machine the bench shares with the worker it measures."""

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=CALLBACK_SENDERS, limit_per_host=CALLBACK_SENDERS)
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    return AiohttpTransport(client=session)
