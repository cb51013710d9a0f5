"""Certificate holders: a user id resolved to the ID number the certificate library knows.

The user table belongs to `auth/`; this side sees it only through the `Identities` port
(`auth.users.UserDirectory` fits it), so the domain never decrypts anything itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.clock import Clock, monotonic
from core.errors import HolderNotFound


@dataclass(frozen=True)
class Holder:
    user_id: str
    id_number: str
    id_number_masked: str


class Identities(Protocol):
    async def identity_of(self, user_id: str) -> tuple[str, str] | None:
        """(full ID number, masked ID number) of a user, None when there is no such user."""
        ...


class Holders:
    """A user's ID number never changes, so each process keeps the holders it resolved for
    `ttl_seconds` (bounded, oldest dropped first) instead of reading and decrypting the
    user's row on every certificate request. Nothing in Lingpao deletes a user; a row
    removed by hand is seen as gone within `ttl_seconds`. The ID numbers are in this
    process's memory either way: it decrypts them to call the library."""

    def __init__(
        self,
        identities: Identities,
        remember: int = 10_000,
        ttl_seconds: float = 60.0,
        clock: Clock = monotonic,
    ) -> None:
        self.identities = identities
        self.remember = remember
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._known: dict[str, tuple[float, Holder]] = {}

    async def of_user(self, user_id: str) -> Holder:
        known = self._known.get(user_id)
        if known is not None and self._clock() - known[0] < self.ttl_seconds:
            return known[1]
        found = await self.identities.identity_of(user_id)
        if found is None:
            self._known.pop(user_id, None)
            raise HolderNotFound(reason="user_gone")
        id_number, masked = found
        holder = Holder(user_id, id_number, masked)
        if self.remember > 0:
            if len(self._known) >= self.remember and user_id not in self._known:
                del self._known[next(iter(self._known))]
            self._known[user_id] = (self._clock(), holder)
        return holder
