"""A login written out for PostgreSQL as one statement (issue 13), picked by
server/bootstrap.

Tortoise builds each query and model in Python, ~150 µs a statement, most of a login's
time. Here a whole login (the identity token's first use, the account's update, the family,
its first refresh token and the audit line) is one statement. Elsewhere (SQLite, a first
login, the race it may lose) the ORM's records do the same steps apart (auth/logins.py);
the same contract tests hold both (tests/integration/test_hot_statements.py).
"""

from __future__ import annotations

import uuid
from typing import cast

from tortoise import connections
from tortoise.backends.asyncpg import AsyncpgDBClient

from auth.orm import ACCOUNT_COLUMNS, account_of, jti_kept_until
from auth.records import JTI_MAX, Family, LoginDraft, LoginRecorded
from core.errors import StoredDataCorrupt

# (Constants only: the columns are ours, every value a `$n` parameter.)
RETURNING = ", ".join(ACCOUNT_COLUMNS)
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


def client() -> AsyncpgDBClient:
    """The connection, or the open transaction's: asyncpg's client, whose `$n` placeholders
    the statement uses (bootstrap picks PostgresLogins only for an asyncpg URL)."""
    return cast(AsyncpgDBClient, connections.get("default"))


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
