"""Rate limits shared by every worker (Redis), through the `limits` library."""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError
from sanic.request import Request

from core.coalesce import CoalescedPipeline, SingleFlight
from core.errors import RateLimited, Unavailable
from store.kv import KV

log = logging.getLogger("lingpao.ratelimit")


class RateLimiter:
    def __init__(self, client: KV | None) -> None:
        """`client`: the shared Redis; None for the one-process stand-in."""
        storage: Storage
        if isinstance(client, RedisCluster):
            storage = _SharedClientStorage(client)
        elif client is not None:
            storage = _PipelinedStorage(client)
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


class _PipelinedStorage(_SharedClientStorage):
    """One Redis or Sentinel: a hit is limits' own script, sent as EVALSHA in one pipeline
    with the hits of other requests that arrive meanwhile (core.coalesce). One at a time,
    each hit cost ~60 µs of redis-py's per-command bookkeeping, a fifth of a login's CPU
    with its two limits (issue 13's profile). Redis still runs each hit whole, in the order
    they came. A pipeline that loses its connection is sent again once by the client (as a
    single command was): hits Redis had already run count twice, which refuses early and
    never lets more through.

    Not for Cluster: its pipeline reports a node's connection error as that command's
    answer, without the client's retries and slot-map refresh that ride out a failover,
    so Cluster keeps limits' own one-command path."""

    def __init__(self, client: KV) -> None:
        self._hits = CoalescedPipeline(lambda: client.pipeline(transaction=False))
        self._loads = SingleFlight[str]()
        super().__init__(client)

    # limits' RedispyBridge sends the same scripts with the same keys and arguments, one
    # command at a time; errors are wrapped into StorageError by limits (its
    # MovingWindowSupport wraps these overrides too).

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        script = self.bridge.lua_acquire_moving_window  # type: ignore[attr-defined]
        key = self.bridge.prefixed_key(key)
        return bool(await self._run(script, key, time.time(), limit, expiry, amount))

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        # Asked for a refused hit's Retry-After: a flood of refusals goes together too.
        script = self.bridge.lua_moving_window  # type: ignore[attr-defined]
        timestamp = time.time()
        window = await self._run(script, self.bridge.prefixed_key(key), timestamp - expiry, limit)
        return (float(window[0]), window[1]) if window else (timestamp, 0)

    async def _run(self, script: Any, key: str, *args: float) -> Any:
        """`script` on one key, in the next pipeline."""
        try:
            return await self._hits("EVALSHA", script.sha, 1, key, *args)
        except NoScriptError:
            # A Redis that restarted, or failed over to a node that never saw the script:
            # the hits of that pipeline load it once between them, and go again.
            await self._loads(script.sha, lambda: self._client.script_load(script.script))
            return await self._hits("EVALSHA", script.sha, 1, key, *args)


def client_address(request: Request, trusted_proxies: int) -> str:
    """The caller's address; X-Forwarded-For is believed only through trusted proxies."""
    if trusted_proxies > 0:
        forwarded = [
            p.strip() for p in request.headers.get("x-forwarded-for", "").split(",") if p.strip()
        ]
        if len(forwarded) >= trusted_proxies:
            return forwarded[-trusted_proxies]
    return request.ip or "unknown"
