"""A login's statements written out for PostgreSQL (issue 13), picked by server/bootstrap.

Tortoise builds each query and model in Python, ~150 µs a statement, most of a login's
time. Here a whole login (the identity token's first use, the account's update, the family
and its first refresh token) is one statement; so are the same steps apart, where they are
used alone. Each
class overrides only those methods of its ORM version (auth/orm.py), and the same contract
tests hold both (tests/integration/test_auth_records.py, test_hot_statements.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from tortoise import connections
from tortoise.backends.asyncpg import AsyncpgDBClient

from auth.orm import (
    ACCOUNT_COLUMNS,
    TortoiseIdentityTokens,
    TortoiseSessionRecords,
    TortoiseUserRecords,
    account_of,
    jti_kept_until,
)
from auth.records import JTI_MAX, Account, Family, LoginDraft, LoginRecorded
from core.clock import utc
from core.errors import StoredDataCorrupt

# Found and changed in one statement; a hash is unique, and a row carries one of them.
# (Constants only: the columns are ours, every value a `$n` parameter.)
SET_LOGIN = "SET name = $2, idp_subject = $3, assurance = $4, last_login_at = $5"
RETURNING = ", ".join(ACCOUNT_COLUMNS)
RECORD_LOGIN = f"UPDATE app_user {SET_LOGIN} WHERE id_hash = ANY($1::text[]) RETURNING {RETURNING}"  # noqa: S608, E501
# The family and its first token in one statement (the key check runs at its end).
NEW_FAMILY = (
    "WITH family AS (INSERT INTO refresh_family"
    " (id, user_id, device_id, assurance, created_at, expires_at, revoked_reason)"
    " VALUES ($1, $2::uuid, $3, $4, $5, $6, '') RETURNING id)"
    " INSERT INTO refresh_token (family_id, token_hash, created_at)"
    " SELECT id, $7, $5 FROM family"
)
# A whole login in one statement, each step only if the one before it found what it needs:
# the identity token's first use; the account's login; for an account not disabled, the new
# family, its first token and the login's audit line. One statement is all or nothing
# without BEGIN and COMMIT.
LOGIN = (
    "WITH used AS (INSERT INTO used_identity_token (jti, expires_at) VALUES ($1, $2)"  # noqa: S608
    " ON CONFLICT DO NOTHING RETURNING jti),"
    " account AS (UPDATE app_user"
    " SET name = $4, idp_subject = $5, assurance = $6, last_login_at = $7"
    " WHERE id_hash = ANY($3::text[]) AND EXISTS (SELECT 1 FROM used)"
    f" RETURNING {RETURNING}),"
    " family AS (INSERT INTO refresh_family"
    " (id, user_id, device_id, assurance, created_at, expires_at, revoked_reason)"
    " SELECT $8::uuid, id, $9::text, $6::text, $7::timestamptz, $10::timestamptz, ''"
    " FROM account WHERE NOT disabled AND (SELECT count(*) FROM account) = 1"
    " RETURNING id, user_id),"
    " token AS (INSERT INTO refresh_token (family_id, token_hash, created_at)"
    " SELECT id, $11::text, $7::timestamptz FROM family),"
    # The audit line as services/audit.py writes one (the same test reads both back).
    " line AS (INSERT INTO audit_entry"
    " (at, actor, action, target, outcome, reason, actor_user_id, request_id, purpose)"
    " SELECT $7::timestamptz, $12::text, 'auth.login', 'family:' || id::text, 'ok',"
    " $6::text, user_id::text, $13::text, '' FROM family)"
    " SELECT EXISTS (SELECT 1 FROM used) AS first_use,"
    " family.id IS NOT NULL AS family_written, account.*"
    " FROM (VALUES (1)) AS one LEFT JOIN account ON true"
    " LEFT JOIN family ON family.user_id = account.id"
)
FIRST_USE = (
    "INSERT INTO used_identity_token (jti, expires_at) VALUES ($1, $2)"
    " ON CONFLICT DO NOTHING RETURNING jti"
)


def client() -> AsyncpgDBClient:
    """The connection, or the open transaction's: asyncpg's client, whose `$n` placeholders
    the statements use (bootstrap picks these classes only for an asyncpg URL)."""
    return cast(AsyncpgDBClient, connections.get("default"))


class PostgresUserRecords(TortoiseUserRecords):
    async def record_login(
        self, id_hashes: list[str], *, name: str, idp_subject: str, assurance: str, at: datetime
    ) -> Account | None:
        rows = await client().execute_query_dict(
            RECORD_LOGIN, [id_hashes, name, idp_subject, assurance, at]
        )
        return account_of(rows[0]) if rows else None


class PostgresSessionRecords(TortoiseSessionRecords):
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
        await client().execute_query(
            NEW_FAMILY,
            [family_id, account.id, device_id, assurance, utc(), expires_at, token_hash],
        )
        return Family(str(family_id), account, device_id, assurance, expires_at)


class PostgresIdentityTokens(TortoiseIdentityTokens):
    async def _insert(self, jti: str, until: datetime) -> bool:
        return bool(await client().execute_query_dict(FIRST_USE, [jti, until]))


class PostgresLogins:
    """LoginRecords as one statement (auth/logins.py composes the same steps elsewhere)."""

    async def record_login(self, draft: LoginDraft) -> LoginRecorded:
        if not 0 < len(draft.jti) <= JTI_MAX:
            return LoginRecorded(first_use=False)  # as first_use: no id we could keep
        family_id, new = uuid.uuid4(), draft.family
        rows = await client().execute_query_dict(
            LOGIN,
            [
                draft.jti,
                jti_kept_until(draft.jti_expires_at),
                list(draft.id_hashes),
                draft.name,
                draft.idp_subject,
                new.assurance,
                draft.at,
                family_id,
                new.device_id,
                new.expires_at,
                new.token_hash,
                draft.actor[:64],
                draft.request_id[:128],
            ],
        )
        if len(rows) != 1:
            # Two accounts carry this person's hashes (a hash is unique, but a row written
            # under a key this worker does not know could be a second one): no family, no
            # session, no audit line of one.
            raise StoredDataCorrupt(reason="accounts_share_a_person")
        row = rows[0]
        if not row["first_use"]:
            return LoginRecorded(first_use=False)
        if row["id"] is None:
            return LoginRecorded(first_use=True)
        account = account_of(row)
        if not row["family_written"]:
            return LoginRecorded(first_use=True, account=account)
        family = Family(str(family_id), account, new.device_id, new.assurance, new.expires_at)
        return LoginRecorded(first_use=True, account=account, family=family)
