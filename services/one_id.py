"""一证通办: which items the caller can finish with the certificates they hold today.

What eligibility needs of a certificate is its id, its type and whether it is valid today;
never its fields. Those facts are kept per citizen for `ttl_seconds` in Redis (shared by
every instance), so the view is not a library round trip, a seal check per certificate and
an audit row on every look. How a change reaches it:

- a certificate the library revokes or that expires is seen at the latest `ttl_seconds`
  later (30 by default); filing an application checks the certificates again, here and at
  the gateway's intake, so a stale "eligible" never files anything on a revoked one;
- the facts are gathered by a library call that is audited like any other (the citizen's
  access log shows it); a view served from the facts reads no certificate and is not
  logged again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson
import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from core.coalesce import CoalescedMget
from services.catalog import IN_PERSON, Catalog, ItemView
from services.certificates import PURPOSE_ONE_ID, Certificates
from services.holders import Holders

# One hash tag for every citizen's facts: concurrent looks are read in one MGET
# (core.coalesce), which Redis Cluster allows only within a slot.
PREFIX = "lp:{oneid}:"
MAX_VIEWS = 4096


class Held(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def usable(self) -> bool: ...


@dataclass(frozen=True)
class HeldCertificate:
    """What eligibility needs of a certificate, and nothing more."""

    id: str
    type: str
    usable: bool


class OneId:
    def __init__(
        self,
        catalog: Catalog,
        certificates: Certificates,
        holders: Holders,
        client: redis.Redis | RedisCluster,
        ttl_seconds: int = 30,
    ) -> None:
        self.catalog = catalog
        self.certificates = certificates
        self.holders = holders
        self.redis = client
        self.ttl_seconds = ttl_seconds
        self._facts = CoalescedMget(client.mget)
        # The views for a catalog version and a set of usable certificates, shared by every
        # request that has the same (so read-only); the oldest are dropped past the bound.
        self._views: dict[tuple, list[dict]] = {}

    async def items(self, user_id: str, request_id: str) -> list[dict]:
        held = await self._remembered(user_id)
        if held is None:
            holder = await self.holders.of_user(user_id)
            found = await self.certificates.list_for(holder, request_id, purpose=PURPOSE_ONE_ID)
            held = [HeldCertificate(c.id, c.type, c.usable) for c in found]
            await self._remember(user_id, held)
        seen, items = await self.catalog.versioned_snapshot()
        usable = usable_by_type(held)
        key = (seen, tuple(sorted(usable.items())))
        views = self._views.get(key)
        if views is None:
            views = [_view(item, usable) for item in items]
            if len(self._views) >= MAX_VIEWS:
                del self._views[next(iter(self._views))]
            self._views[key] = views
        return views

    async def _remembered(self, user_id: str) -> list[HeldCertificate] | None:
        if self.ttl_seconds <= 0:
            return None
        try:
            (raw,) = await self._facts((PREFIX + user_id,))
        except RedisError:
            return None  # Redis down: ask the library, as without the cache
        if raw is None:
            return None
        return [HeldCertificate(i, t, bool(u)) for i, t, u in orjson.loads(raw)]

    async def _remember(self, user_id: str, held: list[HeldCertificate]) -> None:
        if self.ttl_seconds <= 0:
            return
        facts = orjson.dumps([[c.id, c.type, c.usable] for c in held])
        with contextlib.suppress(RedisError):
            await self.redis.set(PREFIX + user_id, facts, ex=self.ttl_seconds)


def one_id_views(items: Sequence[ItemView], certificates: Sequence[Held]) -> list[dict]:
    """Per item: eligible when not in person, no paper, and every certificate material is
    satisfied by a certificate valid today (expired, revoked or forged ones do not count)."""
    usable = usable_by_type(certificates)
    return [_view(item, usable) for item in items]


def usable_by_type(certificates: Sequence[Held]) -> dict[str, str]:
    """The first usable certificate of each type, by type."""
    usable: dict[str, str] = {}
    for cert in certificates:
        if cert.usable:
            usable.setdefault(cert.type, cert.id)
    return usable


def _view(item: ItemView, usable: dict[str, str]) -> dict:
    materials = []
    for m in item.materials:
        satisfied_by = usable.get(m.certificate_type or "") if m.source == "certificate" else None
        materials.append(
            {
                "code": m.code,
                "name": m.name,
                "source": m.source,
                "certificate_type": m.certificate_type,
                "satisfied_by": satisfied_by,
            }
        )
    eligible = item.mode != IN_PERSON and all(
        m["source"] != "paper" and (m["source"] != "certificate" or m["satisfied_by"])
        for m in materials
    )
    missing = [
        m["code"]
        for m in materials
        if m["source"] == "paper" or (m["source"] == "certificate" and not m["satisfied_by"])
    ]
    return {
        "code": item.code,
        "name": item.name,
        "mode": item.mode,
        "eligible": eligible,
        "materials": materials,
        "missing": missing,
    }
