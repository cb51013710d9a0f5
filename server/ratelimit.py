"""Rate limits shared by every worker (Redis), through the `limits` library."""

from __future__ import annotations

import functools
import logging
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from sanic.request import Request

from core.errors import RateLimited, Unavailable
from services.kv import KV

log = logging.getLogger("lingpao.ratelimit")


class RateLimiter:
    def __init__(self, client: KV | None) -> None:
        """`client`: the shared Redis; None for the one-process stand-in."""
        storage: Storage
        if client is not None:
            storage = _SharedClientStorage(client)
        else:
            storage = MemoryStorage()  # the stand-in: one process only, like the stand-in Redis
        self.storage = storage
        self.strategy = MovingWindowRateLimiter(storage)

    async def hit(self, rate: str, *identifiers: str) -> None:
        try:
            for item in _parsed(rate):
                if not await self.strategy.hit(item, *identifiers):
                    stats = await self.strategy.get_window_stats(item, *identifiers)
                    raise RateLimited(retry_after=max(1, int(stats.reset_time - time.time()) + 1))
        except StorageError as exc:
            log.warning("rate-limit storage failed: %s", type(exc).__name__)
            raise Unavailable() from exc


@functools.lru_cache(maxsize=64)
def _parsed(rate: str) -> list[RateLimitItem]:
    # The rates come from the settings, a handful of strings: parsed once, not per hit.
    return parse_many(rate)


class _SharedClientStorage(RedisStorage):
    """limits' Redis storage riding on our own client, whatever it is (one Redis, Sentinel,
    Cluster): one set of connections to Redis and one place that closes them. The moving
    window touches one key per limit, so Cluster needs no hash tag here."""

    def __init__(self, client: KV) -> None:
        self._client = client
        # The URL only names the scheme; configure_bridge below hands over the client.
        super().__init__(
            "async+redis://", implementation="redispy", wrap_exceptions=True, key_prefix="lp:rl"
        )

    def configure_bridge(self) -> None:
        self.bridge.storage = self._client  # type: ignore[attr-defined]
        self.bridge.connection_getter = lambda _readonly: self._client  # type: ignore[attr-defined]


def client_address(request: Request, trusted_proxies: int) -> str:
    """The caller's address; X-Forwarded-For is believed only through trusted proxies."""
    if trusted_proxies > 0:
        forwarded = [
            p.strip() for p in request.headers.get("x-forwarded-for", "").split(",") if p.strip()
        ]
        if len(forwarded) >= trusted_proxies:
            return forwarded[-trusted_proxies]
    return request.ip or "unknown"
