"""What every worker and instance must agree on, mirrored in Redis.

Used identity tokens are not here: the database keeps them (auth.orm.TortoiseIdentityTokens).

lp:rev:jti:<jti>   a revoked access token (until its expiry)
lp:rev:fam:<id>    a revoked refresh family (until its absolute expiry)
lp:dis:user:<id>   a disabled user (no expiry)
"""

from __future__ import annotations

import time

import redis.asyncio as redis

PREFIX = "lp:"


class AuthStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

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
        values = await self.redis.mget(
            f"{PREFIX}rev:jti:{jti}", f"{PREFIX}rev:fam:{family_id}", f"{PREFIX}dis:user:{user_id}"
        )
        return any(v is not None for v in values)
