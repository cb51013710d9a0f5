"""The shared key-value store: real Redis when configured, an in-process stand-in otherwise."""

from __future__ import annotations

import fakeredis
import redis.asyncio as redis


def open_redis(url: str | None) -> redis.Redis:
    if url:
        # Short timeouts: a dead Redis must turn into a clear 503, not a hung request.
        return redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30
        )
    # A FakeServer of its own per app, so two apps in one test process share nothing
    # unless a test hands them the same one.
    return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())


async def ping_redis(client: redis.Redis) -> None:
    await client.ping()
