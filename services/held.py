"""The certificates a citizen holds, as eligibility needs them: id, type and status today.

Never a field value. These facts are kept per citizen for `ttl_seconds` in Redis (shared by
every instance), so neither the 一证通办 view nor a filing's materials check is a library
round trip, a seal check per certificate and an audit row each time. How a change reaches
them:

- the facts are gathered by a library call that is audited like any other (the citizen's
  access log shows it, with the purpose of the look that gathered them); a look served from
  the facts reads no certificate and is not logged again;
- a certificate the library revokes or that expires is seen at the latest `ttl_seconds`
  later (30 by default). Until then a filing may name it and be accepted (202), but the
  gateway checks every certificate itself at intake, so such an application is rejected
  there: nothing is ever completed on a revoked certificate;
- a certificate the facts do not hold, or hold as unusable, is asked of the library again
  before a filing is refused for it: one issued a moment ago (an application's result) is
  never refused for facts that predate it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import orjson
import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from core.coalesce import CoalescedMget
from services.certificates import Certificates
from services.holders import Holder

# One hash tag for every citizen's facts: concurrent looks are read in one MGET
# (core.coalesce), which Redis Cluster allows only within a slot.
PREFIX = "lp:{held}:"


@dataclass(frozen=True)
class HeldCertificate:
    """What eligibility needs of a certificate, and nothing more."""

    id: str
    type: str
    status: str  # valid | expired | revoked, as services.certificates.status_of says

    @property
    def usable(self) -> bool:
        return self.status == "valid"


class HeldCertificates:
    def __init__(
        self,
        certificates: Certificates,
        client: redis.Redis | RedisCluster,
        ttl_seconds: int = 30,
    ) -> None:
        self.certificates = certificates
        self.redis = client
        self.ttl_seconds = ttl_seconds
        self._facts = CoalescedMget(client.mget)

    async def of(self, holder: Holder, request_id: str, purpose: str) -> list[HeldCertificate]:
        """The holder's certificates: the kept facts, or else the library's list."""
        held = await self.remembered(holder.user_id)
        if held is None:
            held = await self.gather(holder, request_id, purpose)
        return held

    async def gather(self, holder: Holder, request_id: str, purpose: str) -> list[HeldCertificate]:
        """The library's list, audited with `purpose`, kept for the next look."""
        found = await self.certificates.list_for(holder, request_id, purpose=purpose)
        held = [HeldCertificate(c.id, c.type, c.status) for c in found]
        await self._remember(holder.user_id, held)
        return held

    async def remembered(self, user_id: str) -> list[HeldCertificate] | None:
        """The kept facts; None when there are none (or Redis cannot say, or keeping is off)."""
        if self.ttl_seconds <= 0:
            return None
        try:
            (raw,) = await self._facts((PREFIX + user_id,))
        except RedisError:
            return None  # Redis down: ask the library, as without the facts
        if raw is None:
            return None
        return [HeldCertificate(i, t, s) for i, t, s in orjson.loads(raw)]

    async def _remember(self, user_id: str, held: list[HeldCertificate]) -> None:
        if self.ttl_seconds <= 0:
            return
        facts = orjson.dumps([[c.id, c.type, c.status] for c in held])
        with contextlib.suppress(RedisError):
            await self.redis.set(PREFIX + user_id, facts, ex=self.ttl_seconds)
