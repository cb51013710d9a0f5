"""A login's statements written out for PostgreSQL (issue 13), picked by server/bootstrap.

Tortoise builds each query and model in Python, ~150 µs a statement, most of a login's
time. Here a login's look-up and update are one `UPDATE … RETURNING`, a family and its
first refresh token one statement, and an identity token's first use one insert. Each
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
)
from auth.records import Account, Family
from core.clock import utc

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
