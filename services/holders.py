"""Certificate holders: a user id resolved to the ID number the certificate library knows.

The user table belongs to `auth/`; this side sees it only through the `Identities` port
(`auth.users.UserDirectory` fits it), so the domain never decrypts anything itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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
    def __init__(self, identities: Identities) -> None:
        self.identities = identities

    async def of_user(self, user_id: str) -> Holder:
        found = await self.identities.identity_of(user_id)
        if found is None:
            raise HolderNotFound(reason="user_gone")
        id_number, masked = found
        return Holder(user_id, id_number, masked)
