"""The auth records on tortoise: every query the auth layer makes to the database but a
login on PostgreSQL (auth/records/postgres.py, one statement). A login here
(`TortoiseLogins`) is one transaction, held to the same contract tests."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from auth.models import (
    MirrorState,
    RefreshFamily,
    RefreshToken,
    RevokedAccessToken,
    UsedIdentityToken,
    User,
)
from auth.records.port import (
    JTI_MAX,
    Account,
    Family,
    LoginDraft,
    LoginRecorded,
    Refusals,
    login_line,
)
from core.errors import AccountExists, StoredDataCorrupt
from core.ids import is_uuid
from store.audit import AuditLine, LineWriter, OrmAuditWriter

# What an Account is read from; auth/records/postgres.py's statement returns the same columns.
ACCOUNT_COLUMNS = ("id", "name", "id_masked", "id_encrypted", "roles", "disabled", "assurance")
_ROLES = User._meta.fields_map["roles"]


def account_of(row: Mapping[str, Any]) -> Account:
    """The account of a row: a model's fields or a written-out statement's columns."""
    return Account(
        id=str(row["id"]),
        name=row["name"],
        id_masked=row["id_masked"],
        id_encrypted=row["id_encrypted"],
        roles=tuple(_ROLES.to_python_value(row["roles"])),  # JSON text from a raw row
        disabled=row["disabled"],
        assurance=row["assurance"],
    )


def jti_kept_until(expires_at: int) -> datetime:
    """A used identity token is kept a minute past its expiry, for clocks that disagree a
    little."""
    return datetime.fromtimestamp(expires_at + 60, UTC)


def _account(row: User) -> Account:
    return account_of({column: getattr(row, column) for column in ACCOUNT_COLUMNS})


def _family(row: RefreshFamily, account: Account) -> Family:
    return Family(
        id=str(row.id),
        account=account,
        device_id=row.device_id,
        assurance=row.assurance,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_reason=row.revoked_reason,
    )


class TortoiseUserRecords:
    """Users in the `app_user` table."""

    async def by_id_hash(self, id_hash: str) -> Account | None:
        row = await User.get_or_none(id_hash=id_hash)
        return None if row is None else _account(row)

    async def by_any_id_hash(self, id_hashes: list[str]) -> Account | None:
        # One statement: looked up hash by hash, a row rewritten between two look-ups was
        # missed under both (seen in CI while rotate-pii ran).
        row = await User.filter(id_hash__in=id_hashes).first()
        return None if row is None else _account(row)

    async def get(self, user_id: str) -> Account | None:
        if not is_uuid(user_id):
            return None
        row = await User.get_or_none(id=user_id)
        return None if row is None else _account(row)

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
        try:
            row = await User.create(
                id_hash=id_hash,
                id_encrypted=id_encrypted,
                id_masked=id_masked,
                name=name,
                roles=list(roles),
                assurance=assurance,
                idp_subject=idp_subject,
                last_login_at=logged_in_at,
            )
        except IntegrityError as exc:
            if "id_hash" not in str(exc):  # the unique constraint's name or column
                raise
            raise AccountExists(reason="id_hash_taken") from exc
        return _account(row)

    async def set_roles(self, user_id: str, roles: tuple[str, ...]) -> None:
        await User.filter(id=user_id).update(roles=list(roles))

    async def set_disabled(self, user_id: str, disabled: bool) -> None:
        await User.filter(id=user_id).update(disabled=disabled)


class TortoiseSessionRecords:
    """Refresh families and their tokens in `refresh_family` and `refresh_token`."""

    def __init__(self, audit: LineWriter | None = None) -> None:
        self.audit = audit or OrmAuditWriter()

    async def create_family(
        self,
        account: Account,
        *,
        device_id: str,
        assurance: str,
        expires_at: datetime,
        token_hash: str,
    ) -> Family:
        family_id = uuid.uuid4()
        async with in_transaction():
            row = await RefreshFamily.create(
                id=family_id,
                user_id=account.id,
                device_id=device_id,
                assurance=assurance,
                expires_at=expires_at,
            )
            await RefreshToken.create(family_id=family_id, token_hash=token_hash)
        return _family(row, account)

    async def family_of_token(self, token_hash: str) -> Family | None:
        row = await RefreshToken.get_or_none(token_hash=token_hash).select_related("family__user")
        if row is None:
            return None
        return _family(row.family, _account(row.family.user))

    async def claim_and_rotate(
        self,
        token_hash: str,
        next_hash: str,
        *,
        family_id: str,
        at: datetime,
        line: AuditLine | None = None,
    ) -> bool:
        async with in_transaction():
            # The conditional update is the lock: of two concurrent claims, one sees 0 rows
            # (on PostgreSQL the second waits for the first's commit, then re-checks).
            claimed = await RefreshToken.filter(token_hash=token_hash, used_at__isnull=True).update(
                used_at=at
            )
            if claimed:
                await RefreshToken.create(family_id=family_id, token_hash=next_hash)
                if line is not None:
                    await self.audit.write(line)
        return bool(claimed)

    async def revoke_family(self, family_id: str, reason: str, at: datetime) -> bool:
        changed = await RefreshFamily.filter(id=family_id, revoked_at__isnull=True).update(
            revoked_at=at, revoked_reason=reason
        )
        return bool(changed)

    async def get_family(self, family_id: str) -> Family | None:
        row = await RefreshFamily.get_or_none(id=family_id).select_related("user")
        return None if row is None else _family(row, _account(row.user))

    async def open_families_of(self, user_id: str) -> list[Family]:
        rows = await RefreshFamily.filter(user_id=user_id, revoked_at__isnull=True).select_related(
            "user"
        )
        return [_family(row, _account(row.user)) for row in rows]


class TortoiseIdentityTokens:
    """Used identity tokens, in the database (each login's own write marks one used, in
    `TortoiseLogins` or auth/records/postgres.py): forgotten once they could log in no more."""

    async def forget_expired(self, now: datetime) -> None:
        await UsedIdentityToken.filter(expires_at__lt=now).delete()


class TortoiseDecisionRecords:
    """Revoked access tokens, revoked families and disabled users, and the mirror's
    generation, in the database."""

    async def revoke_access(self, jti: str, expires_at: datetime) -> None:
        try:
            await RevokedAccessToken.create(jti=jti, expires_at=expires_at)
        except IntegrityError:
            pass  # revoked before: a logout retried

    async def is_refused(self, jti: str, family_id: str, user_id: str, now: datetime) -> bool:
        if await RevokedAccessToken.filter(jti=jti, expires_at__gt=now).exists():
            return True
        if (
            is_uuid(family_id)
            and await RefreshFamily.filter(id=family_id, revoked_at__isnull=False).exists()
        ):
            return True
        return is_uuid(user_id) and await User.filter(id=user_id, disabled=True).exists()

    async def refusals(self, now: datetime, since: datetime) -> Refusals:
        tokens = await RevokedAccessToken.filter(expires_at__gt=now).values_list(
            "jti", "expires_at"
        )
        families = await RefreshFamily.filter(
            revoked_at__gte=since, expires_at__gt=now
        ).values_list("id", "expires_at")
        disabled = await User.filter(disabled=True).values_list("id", flat=True)
        return Refusals(
            access_tokens=tuple((str(j), e) for j, e in tokens),
            families=tuple((str(f), e) for f, e in families),
            disabled_users=tuple(str(u) for u in disabled),
        )

    async def forget_expired(self, now: datetime) -> None:
        await RevokedAccessToken.filter(expires_at__lt=now).delete()

    async def generation(self) -> int:
        state, _ = await MirrorState.get_or_create(id=1, defaults={"generation": 1})
        return state.generation

    async def next_generation(self) -> int:
        await MirrorState.get_or_create(id=1, defaults={"generation": 1})
        await MirrorState.filter(id=1).update(generation=F("generation") + 1)
        return await self.generation()


class TortoiseLogins:
    """A login as one transaction (SQLite's: tortoise holds its one connection for it, so
    logins never interleave), through the user and session records."""

    def __init__(self) -> None:
        self._users, self._sessions = TortoiseUserRecords(), TortoiseSessionRecords()
        self._audit = OrmAuditWriter()

    async def record_login(self, draft: LoginDraft) -> LoginRecorded:
        if not 0 < len(draft.jti) <= JTI_MAX:
            return LoginRecorded(first_use=False)  # no id we could keep: never a first use
        new = draft.family
        async with in_transaction():
            if await UsedIdentityToken.exists(jti=draft.jti):
                return LoginRecorded(first_use=False)
            await UsedIdentityToken.create(
                jti=draft.jti, expires_at=jti_kept_until(draft.jti_expires_at)
            )
            account = await self._logged_in(draft)
            if account is None or account.disabled:
                family = None
            else:
                family = await self._sessions.create_family(
                    account,
                    device_id=new.device_id,
                    assurance=new.assurance,
                    expires_at=new.expires_at,
                    token_hash=new.token_hash,
                )
                await self._audit.write(login_line(draft, family.id, account.id))
        if account is None:
            # As on PostgreSQL: the token used and both accounts' logins kept, no session.
            raise StoredDataCorrupt(reason="accounts_share_a_person")
        return LoginRecorded(first_use=True, account=account, family=family)

    async def _logged_in(self, draft: LoginDraft) -> Account | None:
        """The account carrying any of the hashes with this login on it, made if none is;
        None when two carry them (each gets the login)."""
        rows = await User.filter(id_hash__in=list(draft.id_hashes)).limit(2)
        changes: dict[str, Any] = {
            "name": draft.name,
            "idp_subject": draft.idp_subject,
            "assurance": draft.family.assurance,
            "last_login_at": draft.at,
        }
        if rows:
            await User.filter(id__in=[r.id for r in rows]).update(**changes)
            if len(rows) > 1:
                return None
            return replace(_account(rows[0]), name=draft.name, assurance=draft.family.assurance)
        return await self._users.create(
            id_hash=draft.id_hashes[0],
            id_encrypted=draft.id_encrypted,
            id_masked=draft.id_masked,
            name=draft.name,
            roles=draft.roles,
            assurance=draft.family.assurance,
            idp_subject=draft.idp_subject,
            logged_in_at=draft.at,
        )
