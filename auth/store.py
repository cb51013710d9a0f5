"""What every worker and instance must agree on, mirrored in Redis.

Used identity tokens are not here: the database keeps them (auth.orm.TortoiseIdentityTokens).

lp:rev:jti:<jti>   a revoked access token (until its expiry)
lp:rev:fam:<id>    a revoked refresh family (until its absolute expiry)
lp:dis:user:<id>   a disabled user (no expiry)
lp:mirror:epoch    the database generation this mirror was built for (see auth.revocations)
"""

from __future__ import annotations

import time

import redis.asyncio as redis

from auth.records import Refusals
from core.coalesce import CoalescedMget

PREFIX = "lp:"
EPOCH = f"{PREFIX}mirror:epoch"


class AuthStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._checks = CoalescedMget(client.mget)

    async def revoke_access(self, jti: str, expires_at: int) -> None:
        ttl = max(1, expires_at - int(time.time()) + 60)
        await self.redis.set(f"{PREFIX}rev:jti:{jti}", b"1", ex=ttl)

    async def revoke_family(self, family_id: str, expires_at: int) -> None:
        ttl = max(1, expires_at - int(time.time()) + 60)
        await self.redis.set(f"{PREFIX}rev:fam:{family_id}", b"1", ex=ttl)

    async def set_disabled(self, user_id: str, disabled: bool) -> None:
        key = f"{PREFIX}dis:user:{user_id}"
        if disabled:
            await self.redis.set(key, b"1")
        else:
            await self.redis.delete(key)

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
