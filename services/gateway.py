"""The one client of the provincial gateway. Nothing else in the backend calls httpx."""

from __future__ import annotations

import httpx


class GatewayClient:
    """Owns the pooled HTTP connection to the gateway; signing and retries join it later."""

    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        timeout_seconds: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.app_key = app_key
        self._secret = app_secret.encode()
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_seconds, connect=2.0),
            follow_redirects=False,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()
