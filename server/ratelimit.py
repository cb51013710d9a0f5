"""Rate limits shared by every worker (Redis), through the `limits` library."""

from __future__ import annotations

import logging
import time

from limits import parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from sanic.request import Request

from core.errors import RateLimited, Unavailable

log = logging.getLogger("lingpao.ratelimit")


class RateLimiter:
    def __init__(self, redis_url: str | None) -> None:
        storage: Storage
        if redis_url:
            storage = RedisStorage("async+" + redis_url, implementation="redispy",
                                   wrap_exceptions=True, key_prefix="lp:rl",
                                   socket_timeout=2, socket_connect_timeout=2)
        else:
            storage = MemoryStorage()  # the stand-in: one process only, like the stand-in Redis
        self.storage = storage
        self.strategy = MovingWindowRateLimiter(storage)

    async def hit(self, rate: str, *identifiers: str) -> None:
        try:
            for item in parse_many(rate):
                if not await self.strategy.hit(item, *identifiers):
                    stats = await self.strategy.get_window_stats(item, *identifiers)
                    raise RateLimited(retry_after=max(1, int(stats.reset_time - time.time()) + 1))
        except StorageError as exc:
            log.warning("rate-limit storage failed: %s", type(exc).__name__)
            raise Unavailable() from exc


def client_address(request: Request, trusted_proxies: int) -> str:
    """The caller's address; X-Forwarded-For is believed only through trusted proxies."""
    if trusted_proxies > 0:
        forwarded = [p.strip() for p in request.headers.get("x-forwarded-for", "").split(",")
                     if p.strip()]
        if len(forwarded) >= trusted_proxies:
            return forwarded[-trusted_proxies]
    return request.ip or "unknown"
