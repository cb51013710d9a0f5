"""What the auth domain reasons about, and the ports through which it is kept.

`Account` and `Family` are plain snapshots: the domain reads them, decides, and asks the
records to change what it decided. The tortoise implementations live in `auth.records.orm`,
a login's one statement on PostgreSQL in `auth.records.postgres`, the in-memory ones in
`tests/fakes/auth.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from store.audit import AuditLine

JTI_MAX = 128  # the longest identity-token id kept as used (used_identity_token.jti)


@dataclass(frozen=True)
class Account:
    """A user as the domain sees one: never the full ID number, only its ciphertext."""

    id: str
    name: str
    id_masked: str
    id_encrypted: str
    roles: tuple[str, ...]
    disabled: bool = False
    assurance: str = "sms"


@dataclass(frozen=True)
class Family:
    """One login's chain of refresh tokens, with its account as it is now."""

    id: str
    account: Account
    device_id: str
    assurance: str
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str = ""

    @property
    def user_id(self) -> str:
        return self.account.id


class UserRecords(Protocol):
    """Where accounts are kept, found by the keyed hash of the ID number or by id."""

    async def by_id_hash(self, id_hash: str) -> Account | None: ...

    async def by_any_id_hash(self, id_hashes: list[str]) -> Account | None:
        """The account carrying any of these hashes, read at one instant: a row that
        rotate-pii rewrites meanwhile is found under one hash or the other."""
        ...

    async def get(self, user_id: str) -> Account | None: ...

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
        """Raises AccountExists when an account carries `id_hash` already."""
        ...

    async def set_roles(self, user_id: str, roles: tuple[str, ...]) -> None: ...

    async def set_disabled(self, user_id: str, disabled: bool) -> None: ...


class SessionRecords(Protocol):
    """Where refresh families and their token hashes are kept."""

    async def create_family(
        self,
        account: Account,
        *,
        device_id: str,
        assurance: str,
        expires_at: datetime,
        token_hash: str,
    ) -> Family:
        """A new family with its first refresh token (kept as `token_hash`), both or neither."""
        ...

    async def family_of_token(self, token_hash: str) -> Family | None:
        """The family the token was issued in, whether or not the token was used already."""
        ...

    async def claim_and_rotate(
        self,
        token_hash: str,
        next_hash: str,
        *,
        family_id: str,
        at: datetime,
        line: AuditLine | None = None,
    ) -> bool:
        """Marks the token used and adds its successor, and `line` that says so, all or
        nothing.

        False if it was used already (or is unknown): of two concurrent claims of one
        token, exactly one gets True.
        """
        ...

    async def revoke_family(self, family_id: str, reason: str, at: datetime) -> bool:
        """False if it was revoked already: the first revocation's time and reason stay."""
        ...

    async def get_family(self, family_id: str) -> Family | None: ...

    async def open_families_of(self, user_id: str) -> list[Family]:
        """The user's families not revoked yet (expired ones included)."""
        ...


@dataclass(frozen=True)
class NewFamily:
    """A family as a login decides it, before it is written: its first token kept as a hash."""

    device_id: str
    assurance: str
    expires_at: datetime
    token_hash: str


@dataclass(frozen=True)
class LoginDraft:
    """Everything one login writes, decided before the write: the identity token's first
    use, the account's update (found by any of its hashes) or, at a first login, the
    account as it is made (under the first hash), the new family, and the audit line that
    says so."""

    jti: str
    jti_expires_at: int  # the identity token's own expiry, epoch seconds
    id_hashes: tuple[str, ...]
    name: str
    idp_subject: str
    at: datetime
    family: NewFamily
    id_masked: str  # the audit line's actor too: never the full ID number
    id_encrypted: str  # for a first login's account
    request_id: str
    roles: tuple[str, ...] = ("citizen",)  # a first login's account's


@dataclass(frozen=True)
class LoginRecorded:
    """What the login's write found and did."""

    first_use: bool  # False: the identity token was used before, and nothing was written
    account: Account | None = None  # the account logged in to, made now at a first login
    family: Family | None = None  # written only for an account that is not disabled


class LoginRecords(Protocol):
    """A login's writes as one atomic unit (one transaction; one statement on PostgreSQL)."""

    async def record_login(self, draft: LoginDraft) -> LoginRecorded:
        """Records the identity token's first use; only then the login on the account
        carrying any of the hashes, made if there is none; only for an account not
        disabled, the new family and the login's audit line. All or nothing. If two
        accounts carry the hashes, the token is used and each gets the login, but no family
        or audit line is written, and StoredDataCorrupt is raised."""
        ...


def login_line(draft: LoginDraft, family_id: str, user_id: str | None) -> AuditLine:
    """The audit line of a login that started a session."""
    return AuditLine(
        actor=draft.id_masked,
        action="auth.login",
        target=f"family:{family_id}",
        reason=draft.family.assurance,
        actor_user_id=user_id,
        request_id=draft.request_id,
        at=draft.at,
    )


@dataclass(frozen=True)
class Refusals:
    """Every "no" that still matters for access tokens, as the database has it now."""

    access_tokens: tuple[tuple[str, datetime], ...]  # (jti, expires_at)
    families: tuple[tuple[str, datetime], ...]  # (family id, expires_at)
    disabled_users: tuple[str, ...]


class DecisionRecords(Protocol):
    """The database as the record of every security decision; Redis only mirrors it."""

    async def revoke_access(self, jti: str, expires_at: datetime) -> None: ...

    async def is_refused(self, jti: str, family_id: str, user_id: str, now: datetime) -> bool:
        """The slow path: revoked token, revoked family or disabled user, from the database."""
        ...

    async def refusals(self, now: datetime, since: datetime) -> Refusals:
        """Unexpired revoked tokens, families revoked after `since`, disabled users."""
        ...

    async def generation(self) -> int: ...

    async def next_generation(self) -> int:
        """Moves the generation on: the Redis mirror is no longer trusted until rebuilt."""
        ...


class RefusalMirror(Protocol):
    """Where sessions and the auth flows record and check refusals: `auth.revocations.
    Revocations` (the database with its Redis mirror), or a bare `auth.store.AuthStore`."""

    async def revoke_access(self, jti: str, expires_at: int) -> None: ...

    async def revoke_family(self, family_id: str, expires_at: int) -> None: ...

    async def set_disabled(self, user_id: str, disabled: bool) -> None: ...

    async def is_revoked(self, jti: str, family_id: str, user_id: str) -> bool: ...
