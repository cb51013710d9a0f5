"""The shared key-value store: real Redis when configured, an in-process stand-in otherwise."""

from __future__ import annotations

import fakeredis
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError


def open_redis(url: str | None) -> redis.Redis:
    if url:
        # Short timeouts: a dead Redis must turn into a clear 503, not a hung request.
        # One quick retry on a connection error only: after Redis restarts, every pooled
        # connection is dead and the first command on each would fail without it. A timeout
        # is not retried, so a stalled Redis costs one socket timeout, not several. A write
        # whose answer was lost may be sent twice: ours are sets and deletes that a second
        # copy does not change, and counters, which then move a version further on (harmless)
        # or a rate limit one request earlier.
        return redis.Redis.from_url(
            url,
            socket_connect_timeout=2,
            socket_timeout=2,
            health_check_interval=30,
            retry=Retry(
                ExponentialBackoff(cap=0.05, base=0.01),
                retries=1,
                supported_errors=(RedisConnectionError,),
            ),
        )
    # A FakeServer of its own per app, so two apps in one test process share nothing
    # unless a test hands them the same one.
    return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())


async def ping_redis(client: redis.Redis) -> None:
    await client.ping()
