"""Users: created at first login, found by the keyed hash of their ID number."""

from __future__ import annotations

from dataclasses import replace

from auth import identity
from auth.records import Account, UserRecords
from core.crypto import PiiCipher
from core.errors import UserNotFound

CITIZEN, OPS = "citizen", "ops"


def view(account: Account, assurance: str | None = None) -> dict:
    return {
        "id": account.id,
        "name": account.name,
        "id_number_masked": account.id_masked,
        "roles": list(account.roles),
        "assurance": assurance or account.assurance,
    }


class UserDirectory:
    """Who our users are: the only place that turns ID numbers into accounts and back."""

    def __init__(self, cipher: PiiCipher, records: UserRecords) -> None:
        self.cipher = cipher
        self.records = records

    def lookup_hash(self, id_number: str) -> str:
        return self.cipher.lookup_hash(identity.normalize(id_number))

    async def _by_id_number(self, id_number: str) -> Account | None:
        # Every hash the row may carry, asked at once.
        return await self.records.by_any_id_hash(list(self.login_hashes(id_number)))

    def login_hashes(self, id_number: str) -> tuple[str, ...]:
        """Every hash an account of this ID number may carry, the current one first: a row
        rotate-pii has not rewritten yet still carries the hash of the suite and key it was
        written under."""
        return tuple(self.cipher.lookup_hashes(identity.normalize(id_number)))

    def seal(self, id_number: str) -> str:
        """The ID number encrypted at rest, as a new account keeps it."""
        return self.cipher.encrypt(identity.normalize(id_number))

    async def ensure(self, id_number: str, name: str, roles: list[str]) -> tuple[Account, bool]:
        """For demo data: the user with these roles, created if missing."""
        id_number = identity.normalize(id_number)
        account = await self._by_id_number(id_number)
        if account is not None:
            missing = [r for r in roles if r not in account.roles]
            if missing:
                account = await self._set_roles(account, (*account.roles, *missing))
            return account, False
        account = await self.records.create(
            id_hash=self.lookup_hash(id_number),
            id_encrypted=self.cipher.encrypt(id_number),
            id_masked=identity.mask(id_number),
            name=name,
            roles=tuple(roles),
        )
        return account, True

    async def find(self, id_number: str) -> Account:
        account = await self._by_id_number(id_number)
        if account is None:
            raise UserNotFound()
        return account

    async def get(self, user_id: str) -> Account | None:
        return await self.records.get(user_id)

    async def identity_of(self, user_id: str) -> tuple[str, str] | None:
        """(full ID number, masked ID number) of a user, or None if there is no such user."""
        account = await self.records.get(user_id)
        if account is None:
            return None
        return self.id_number_of(account), account.id_masked

    async def set_role(self, id_number: str, role: str, present: bool) -> Account:
        account = await self.find(id_number)
        roles = tuple(r for r in account.roles if r != role)
        return await self._set_roles(account, (*roles, role) if present else roles)

    async def set_disabled(self, id_number: str, disabled: bool) -> Account:
        account = await self.find(id_number)
        await self.records.set_disabled(account.id, disabled)
        return replace(account, disabled=disabled)

    def id_number_of(self, account: Account) -> str:
        return self.cipher.decrypt(account.id_encrypted)

    async def _set_roles(self, account: Account, roles: tuple[str, ...]) -> Account:
        await self.records.set_roles(account.id, roles)
        return replace(account, roles=roles)
