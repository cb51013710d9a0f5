"""What every worker and instance must agree on, mirrored in Redis.

Used identity tokens are not here: the database keeps them (each login's own write marks one
used, auth/records).

lp:{auth}:rev:jti:<jti>   a revoked access token (until its expiry)
lp:{auth}:rev:fam:<id>    a revoked refresh family (until its absolute expiry)
lp:{auth}:dis:user:<id>   a disabled user (no expiry)
lp:{auth}:mirror:epoch    the database generation this mirror was built for (auth.revocations)

The `{auth}` hash tag puts every key on one Redis Cluster slot: a token is checked against
the three refusals and the epoch in one MGET, which Cluster allows only within a slot, and
the check must read them at one instant (the rebuild writes the refusals, then the epoch).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from auth.records import Refusals
from core.coalesce import CoalescedMget

PREFIX = "lp:{auth}:"
EPOCH = f"{PREFIX}mirror:epoch"


class NotReplicated(RedisError):
    """The master took a refusal but no replica confirmed it in time.

    A RedisError on purpose, outside core.errors' tree: to its one catcher
    (`Revocations._mirror`) a refusal no replica holds is a Redis failure like any other
    (a failover could lose it), answered the same way: the mirror stops being trusted and
    the database is asked. It never reaches a client.
    """


class AuthStore:
    def __init__(
        self, client: redis.Redis | RedisCluster, *, replicas: int = 0, ack_ms: int = 500
    ) -> None:
        """`replicas`: how many replicas must confirm each refusal within `ack_ms` (Sentinel:
        1), or the refusal counts as not mirrored and the database is asked until the mirror
        is rebuilt."""
        self.redis = client
        self._checks = CoalescedMget(client.mget)
        self.replicas = replicas
        self.ack_ms = ack_ms

    async def revoke_access(self, jti: str, expires_at: int) -> None:
        ttl = max(1, expires_at - int(time.time()) + 60)
        await self._write(lambda p: p.set(f"{PREFIX}rev:jti:{jti}", b"1", ex=ttl))

    async def revoke_family(self, family_id: str, expires_at: int) -> None:
        ttl = max(1, expires_at - int(time.time()) + 60)
        await self._write(lambda p: p.set(f"{PREFIX}rev:fam:{family_id}", b"1", ex=ttl))

    async def set_disabled(self, user_id: str, disabled: bool) -> None:
        key = f"{PREFIX}dis:user:{user_id}"
        if disabled:
            await self._write(lambda p: p.set(key, b"1"))
        else:
            await self._write(lambda p: p.delete(key))

    async def _write(self, command: Callable[[Any], Any]) -> None:
        if not self.replicas:
            await command(self.redis)
            return
        # WAIT counts the replicas holding this connection's writes: one pipeline, one
        # connection. A master that dies before its replica has the refusal would take it
        # into the failover; the database then decides until the mirror is rebuilt.
        pipe: Pipeline = self.redis.pipeline(transaction=False)  # type: ignore[assignment]
        async with pipe:
            command(pipe)
            pipe.execute_command("WAIT", self.replicas, self.ack_ms)
            *_, acked = await pipe.execute()
        if int(acked) < self.replicas:
            raise NotReplicated(f"{acked} of {self.replicas} replicas confirmed a refusal")

    async def is_revoked(self, jti: str, family_id: str, user_id: str) -> bool:
        """One round trip for the three ways an access token stops working."""
        revoked, _ = await self.check(jti, family_id, user_id)
        return revoked

    async def check(self, jti: str, family_id: str, user_id: str) -> tuple[bool, int | None]:
        """Whether the token is refused here, and the epoch the mirror was built for (None
        when Redis has lost it, and with it, maybe, the refusal itself)."""
        *values, epoch = await self._checks(
            (
                f"{PREFIX}rev:jti:{jti}",
                f"{PREFIX}rev:fam:{family_id}",
                f"{PREFIX}dis:user:{user_id}",
                EPOCH,
            )
        )
        return any(v is not None for v in values), int(epoch) if epoch is not None else None

    async def rebuild(self, refusals: Refusals, epoch: int) -> None:
        """Writes every refusal the database holds, then the epoch that vouches for them."""
        now = int(time.time())
        stale = [k async for k in self.redis.scan_iter(match=f"{PREFIX}dis:user:*", count=500)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in stale:
                pipe.delete(key)
            for jti, expires_at in refusals.access_tokens:
                ttl = max(1, int(expires_at.timestamp()) - now + 60)
                pipe.set(f"{PREFIX}rev:jti:{jti}", b"1", ex=ttl)
            for family_id, expires_at in refusals.families:
                ttl = max(1, int(expires_at.timestamp()) - now + 60)
                pipe.set(f"{PREFIX}rev:fam:{family_id}", b"1", ex=ttl)
            for user_id in refusals.disabled_users:
                pipe.set(f"{PREFIX}dis:user:{user_id}", b"1")
            await pipe.execute()
        await self.redis.set(EPOCH, str(epoch))
