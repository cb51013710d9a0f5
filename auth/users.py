"""Users: created at first login, found by the keyed hash of their ID number."""

from __future__ import annotations

from datetime import UTC, datetime

from auth import identity
from auth.crypto import PiiCipher
from auth.idtoken import Identity
from auth.models import User
from core.errors import UserNotFound

CITIZEN, OPS = "citizen", "ops"


def view(user: User, assurance: str | None = None) -> dict:
    return {
        "id": str(user.id),
        "name": user.name,
        "id_number_masked": user.id_masked,
        "roles": list(user.roles),
        "assurance": assurance or user.assurance,
    }


class UserDirectory:
    def __init__(self, cipher: PiiCipher) -> None:
        self.cipher = cipher

    async def upsert_from_identity(self, who: Identity) -> User:
        id_hash = self.cipher.lookup_hash(who.id_number)
        now = datetime.now(UTC)
        user = await User.get_or_none(id_hash=id_hash)
        if user is None:
            return await User.create(
                id_hash=id_hash, id_encrypted=self.cipher.encrypt(who.id_number),
                id_masked=identity.mask(who.id_number), name=who.name, idp_subject=who.subject,
                assurance=who.assurance, roles=[CITIZEN], last_login_at=now)
        user.name, user.idp_subject, user.assurance, user.last_login_at = (
            who.name, who.subject, who.assurance, now)
        await user.save(update_fields=["name", "idp_subject", "assurance", "last_login_at"])
        return user

    async def ensure(self, id_number: str, name: str, roles: list[str]) -> tuple[User, bool]:
        """For demo data: the user with these roles, created if missing."""
        id_number = identity.normalize(id_number)
        user = await User.get_or_none(id_hash=self.cipher.lookup_hash(id_number))
        if user is not None:
            missing = [r for r in roles if r not in user.roles]
            if missing:
                user.roles = [*user.roles, *missing]
                await user.save(update_fields=["roles"])
            return user, False
        user = await User.create(
            id_hash=self.cipher.lookup_hash(id_number), id_encrypted=self.cipher.encrypt(id_number),
            id_masked=identity.mask(id_number), name=name, roles=roles)
        return user, True

    async def find(self, id_number: str) -> User:
        id_hash = self.cipher.lookup_hash(identity.normalize(id_number))
        user = await User.get_or_none(id_hash=id_hash)
        if user is None:
            raise UserNotFound()
        return user

    async def get(self, user_id: str) -> User | None:
        return await User.get_or_none(id=user_id)

    async def set_role(self, id_number: str, role: str, present: bool) -> User:
        user = await self.find(id_number)
        roles = [r for r in user.roles if r != role]
        if present:
            roles.append(role)
        user.roles = roles
        await user.save(update_fields=["roles"])
        return user

    async def identity_of(self, user_id: str) -> tuple[str, str] | None:
        user = await self.get(user_id)
        return None if user is None else (self.id_number_of(user), user.id_masked)

    def id_number_of(self, user: User) -> str:
        return self.cipher.decrypt(user.id_encrypted)
