"""Refusals that hold when Redis fails: the database decides, Redis answers fast.

Every "no" (a logout, a revoked family, a disabled user) is written to the database first
and then mirrored into Redis, where every request checks it in one round trip. Redis is
trusted only while it carries the epoch of the current database generation:

- a Redis that restarted empty has no epoch;
- a mirror write that failed moves the database generation on, so the epoch no longer
  matches (other processes see the new generation within `generation_ttl`).

Untrusted, a request is checked against the database instead (three indexed look-ups),
and one rebuild at a time copies every refusal that still matters back into Redis before
setting the epoch again. With Redis down, requests are checked against the database; with
both down, the answer is 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

from redis.exceptions import RedisError

from auth.records import DecisionRecords
from auth.store import AuthStore
from core.clock import Clock, utc, wall

log = logging.getLogger("lingpao.auth.revocations")


class Revocations:
    def __init__(
        self,
        records: DecisionRecords,
        store: AuthStore,
        access_ttl: timedelta,
        *,
        generation_ttl: float = 1.0,
        clock: Clock = wall,
    ) -> None:
        self.records = records
        self.store = store
        # Families revoked longer ago than one access-token lifetime have no live tokens.
        self.access_ttl = access_ttl
        self.generation_ttl = generation_ttl
        self._clock = clock
        self._generation: int | None = None
        self._generation_at = float("-inf")
        self._rebuild: asyncio.Task[None] | None = None

    # Writing a refusal -------------------------------------------------------------------

    async def revoke_access(self, jti: str, expires_at: int) -> None:
        await self.records.revoke_access(jti, datetime.fromtimestamp(expires_at, UTC))
        await self._mirror(self.store.revoke_access(jti, expires_at))

    async def revoke_family(self, family_id: str, expires_at: int) -> None:
        # The family's row already says revoked; this is the mirror.
        await self._mirror(self.store.revoke_family(family_id, expires_at))

    async def set_disabled(self, user_id: str, disabled: bool) -> None:
        await self._mirror(self.store.set_disabled(user_id, disabled))

    async def _mirror(self, write: Awaitable[None]) -> None:
        try:
            await write
        except RedisError as exc:
            # The database has the decision; Redis does not: stop trusting Redis everywhere.
            log.warning("refusal not mirrored (%s); the mirror is rebuilt", type(exc).__name__)
            self._generation = await self.records.next_generation()
            self._generation_at = time.monotonic()

    # Checking a token --------------------------------------------------------------------

    async def is_revoked(self, jti: str, family_id: str, user_id: str) -> bool:
        generation = await self._current_generation()
        try:
            revoked, epoch = await self.store.check(jti, family_id, user_id)
        except RedisError:
            return await self._from_database(jti, family_id, user_id)
        if epoch == generation:
            return revoked
        self._start_rebuild()
        return revoked or await self._from_database(jti, family_id, user_id)

    async def _from_database(self, jti: str, family_id: str, user_id: str) -> bool:
        # With the database down too, its error reaches the server's dependency-down
        # handler: closed, as a 503.
        return await self.records.is_refused(jti, family_id, user_id, utc(self._clock))

    async def _current_generation(self) -> int | None:
        if time.monotonic() - self._generation_at < self.generation_ttl:
            return self._generation
        try:
            self._generation = await self.records.generation()
            self._generation_at = time.monotonic()
        except Exception as exc:  # noqa: BLE001 - the database is down: keep the last known
            log.warning("mirror generation not read (%s)", type(exc).__name__)
        return self._generation

    # Rebuilding the mirror ---------------------------------------------------------------

    def _start_rebuild(self) -> None:
        if self._rebuild is None or self._rebuild.done():
            self._rebuild = asyncio.get_running_loop().create_task(self.rebuild())

    async def rebuild(self) -> None:
        """Copies every refusal that still matters from the database into Redis."""
        try:
            generation = await self.records.generation()
            now = utc(self._clock)
            refusals = await self.records.refusals(now, now - self.access_ttl)
            await self.store.rebuild(refusals, generation)
            log.info("refusal mirror rebuilt for generation %d", generation)
        except Exception as exc:  # noqa: BLE001 - the next untrusted check tries again
            log.warning("refusal mirror not rebuilt (%s)", type(exc).__name__)

    async def aclose(self) -> None:
        if self._rebuild is not None and not self._rebuild.done():
            self._rebuild.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rebuild
