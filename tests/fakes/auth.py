"""Fakes of the auth layer's ports: the IdP verifier, user and session records, the store."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import fakeredis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from auth.idtoken import Identity
from auth.records import JTI_MAX, Account, Family, LoginDraft, LoginRecorded, login_line
from auth.store import AuthStore
from core.errors import AccountExists, InvalidIdentityToken, StoredDataCorrupt
from store.audit import AuditLine
from tests.fakes.common import FakeAudit


class FakeVerifier:
    """The IdP's side reduced to a table of tokens; like the real one it proves who the
    token names and leaves whether it was used before to the login (FakeLogins)."""

    def __init__(self) -> None:
        self.identities: dict[str, Identity] = {}
        self.calls: list[str] = []

    def issue(self, id_number: str, name: str, assurance: str = "face") -> str:
        token = f"idt-{len(self.identities) + 1}"
        self.identities[token] = Identity(
            f"sub-{id_number[-4:]}", id_number, name, assurance, jti=token, expires_at=2_000_000_000
        )
        return token

    async def verify(self, token: str) -> Identity:
        self.calls.append(token)
        who = self.identities.get(token)
        if who is None:
            raise InvalidIdentityToken(reason="malformed")
        return who


class FakeUserRecords:
    """UserRecords in dicts; the ID-number hash is unique, as in the table."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.ids_by_hash: dict[str, str] = {}
        self.last_login: dict[str, datetime] = {}
        self.calls: list[tuple] = []

    async def by_id_hash(self, id_hash: str) -> Account | None:
        self.calls.append(("by_id_hash", id_hash))
        user_id = self.ids_by_hash.get(id_hash)
        return None if user_id is None else self.accounts[user_id]

    async def by_any_id_hash(self, id_hashes: list[str]) -> Account | None:
        self.calls.append(("by_any_id_hash", tuple(id_hashes)))
        for id_hash in id_hashes:
            user_id = self.ids_by_hash.get(id_hash)
            if user_id is not None:
                return self.accounts[user_id]
        return None

    async def get(self, user_id: str) -> Account | None:
        self.calls.append(("get", user_id))
        return self.accounts.get(user_id)

    async def create(
        self,
        *,
        id_hash: str,
        id_encrypted: str,
        id_masked: str,
        name: str,
        roles: tuple[str, ...],
        assurance: str = "sms",
        idp_subject: str | None = None,
        logged_in_at: datetime | None = None,
    ) -> Account:
        self.calls.append(("create", id_hash))
        if id_hash in self.ids_by_hash:
            raise AccountExists(reason="id_hash_taken")  # the column's unique constraint
        account = Account(
            id=f"user-{len(self.accounts) + 1}",
            name=name,
            id_masked=id_masked,
            id_encrypted=id_encrypted,
            roles=tuple(roles),
            assurance=assurance,
        )
        self.accounts[account.id] = account
        self.ids_by_hash[id_hash] = account.id
        if logged_in_at is not None:
            self.last_login[account.id] = logged_in_at
        return account

    async def set_roles(self, user_id: str, roles: tuple[str, ...]) -> None:
        self.calls.append(("set_roles", user_id, tuple(roles)))
        self._change(user_id, roles=tuple(roles))

    async def set_disabled(self, user_id: str, disabled: bool) -> None:
        self.calls.append(("set_disabled", user_id, disabled))
        self._change(user_id, disabled=disabled)

    def _change(self, user_id: str, **values: Any) -> None:
        # Like an UPDATE ... WHERE id = ?: nothing happens to a user that is not there.
        if user_id in self.accounts:
            self.accounts[user_id] = replace(self.accounts[user_id], **values)


@dataclass
class _Token:
    family_id: str
    used_at: datetime | None = None


class FakeSessionRecords:
    """SessionRecords in dicts; families read their account from the user records."""

    def __init__(self, users: FakeUserRecords, audit: FakeAudit | None = None) -> None:
        self.users = users
        self.audit = audit if audit is not None else FakeAudit()
        self.families: dict[str, Family] = {}
        self.tokens: dict[str, _Token] = {}
        self.calls: list[tuple] = []

    async def create_family(
        self,
        account: Account,
        *,
        device_id: str,
        assurance: str,
        expires_at: datetime,
        token_hash: str,
    ) -> Family:
        self.calls.append(("create_family", account.id))
        family = Family(
            id=f"family-{len(self.families) + 1}",
            account=account,
            device_id=device_id,
            assurance=assurance,
            expires_at=expires_at,
        )
        self.families[family.id] = family
        self._insert(family.id, token_hash)
        return family

    async def family_of_token(self, token_hash: str) -> Family | None:
        self.calls.append(("family_of_token", token_hash))
        token = self.tokens.get(token_hash)
        return None if token is None else self._read(token.family_id)

    async def claim_and_rotate(
        self,
        token_hash: str,
        next_hash: str,
        *,
        family_id: str,
        at: datetime,
        line: AuditLine | None = None,
    ) -> bool:
        # No await inside: nothing else runs between the check and the change, which is
        # what the transaction and the conditional update give the real one.
        self.calls.append(("claim_and_rotate", token_hash))
        token = self.tokens.get(token_hash)
        if token is None or token.used_at is not None:
            return False
        token.used_at = at
        self._insert(family_id, next_hash)
        if line is not None:
            self.audit.keep(line)
        return True

    async def revoke_family(self, family_id: str, reason: str, at: datetime) -> bool:
        self.calls.append(("revoke_family", family_id, reason))
        family = self.families.get(family_id)
        if family is None or family.revoked_at is not None:
            return False
        self.families[family_id] = replace(family, revoked_at=at, revoked_reason=reason)
        return True

    async def get_family(self, family_id: str) -> Family | None:
        self.calls.append(("get_family", family_id))
        return self._read(family_id) if family_id in self.families else None

    async def open_families_of(self, user_id: str) -> list[Family]:
        self.calls.append(("open_families_of", user_id))
        return [
            self._read(f.id)
            for f in self.families.values()
            if f.user_id == user_id and f.revoked_at is None
        ]

    def _insert(self, family_id: str, token_hash: str) -> None:
        if family_id not in self.families:
            raise ValueError("foreign key: refresh_token.family_id")
        if token_hash in self.tokens:
            raise ValueError("unique constraint: refresh_token.token_hash")
        self.tokens[token_hash] = _Token(family_id)

    def _read(self, family_id: str) -> Family:
        family = self.families[family_id]
        return replace(family, account=self.users.accounts[family.user_id])


class FakeLogins:
    """LoginRecords over the fake users and sessions, its own used identity tokens and the
    fake audit: every step without an await between them, as one transaction (or one
    statement) makes the real ones atomic."""

    def __init__(self, users: FakeUserRecords, sessions: FakeSessionRecords, audit: Any) -> None:
        self.users, self.sessions, self.audit = users, sessions, audit
        self.used: set[str] = set()
        self.calls: list[str] = []

    async def record_login(self, draft: LoginDraft) -> LoginRecorded:
        self.calls.append(draft.jti)
        if not 0 < len(draft.jti) <= JTI_MAX or draft.jti in self.used:
            return LoginRecorded(first_use=False)
        users, assurance = self.users, draft.family.assurance
        found = {users.ids_by_hash[h] for h in draft.id_hashes if h in users.ids_by_hash}
        self.used.add(draft.jti)
        for user_id in found:
            users._change(user_id, name=draft.name, assurance=assurance)
            users.last_login[user_id] = draft.at
        if len(found) > 1:
            raise StoredDataCorrupt(reason="accounts_share_a_person")
        # The fakes' own steps never wait on anything: nothing runs between them.
        account = (
            users.accounts[found.pop()]
            if found
            else await users.create(
                id_hash=draft.id_hashes[0],
                id_encrypted=draft.id_encrypted,
                id_masked=draft.id_masked,
                name=draft.name,
                roles=draft.roles,
                assurance=assurance,
                logged_in_at=draft.at,
            )
        )
        if account.disabled:
            return LoginRecorded(first_use=True, account=account)
        new = draft.family
        family = await self.sessions.create_family(
            account,
            device_id=new.device_id,
            assurance=new.assurance,
            expires_at=new.expires_at,
            token_hash=new.token_hash,
        )
        self.audit.keep(login_line(draft, family.id, account.id))
        return LoginRecorded(first_use=True, account=account, family=family)


def fake_auth_store() -> AuthStore:
    """The real AuthStore on an in-process Redis of its own."""
    return AuthStore(fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer()))


def new_signing_key() -> bytes:
    """A fresh P-256 key in PEM, as `AccessTokens` takes it."""
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
