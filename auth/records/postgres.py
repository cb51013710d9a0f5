"""A login as one written-out statement, on PostgreSQL.

Tortoise builds each query and model in Python, ~150 µs a statement, most of a login's
time. Here a whole login is one statement, all or nothing without BEGIN and COMMIT, each
step only if the one before it found what it needs: the identity token's first use; the
account's login, or at a first login the account made (two first logins of one person at
once end in one account: the second's insert meets the first's row on the unique hash and
logs in to it); for an account not disabled, the family, its first token and the login's
audit line. `auth/records/orm.py` does the same steps in one transaction; one contract
suite holds both (tests/contract_records/).
"""

from __future__ import annotations

import uuid

import orjson

from auth.records.orm import ACCOUNT_COLUMNS, account_of, jti_kept_until
from auth.records.port import JTI_MAX, Family, LoginDraft, LoginRecorded
from core.errors import StoredDataCorrupt
from store import audit
from store.db import asyncpg_client

RETURNING = ", ".join(ACCOUNT_COLUMNS)
# The login's audit line (port.login_line) from the statement's own values, all but the
# request id: a parameter each would cost ~2 µs a login (tests/contract_records compares
# the line with the ORM's and the fake's).
LINE = {
    "at": "$7::timestamptz",
    "actor": "$14::text",
    "action": "'auth.login'",
    "target": "'family:' || id::text",
    "outcome": "'ok'",
    "reason": "$6::text",
    "actor_user_id": "user_id::text",
    "subject_user_id": "NULL",
    "purpose": "''",
    "before": "NULL",
    "after": "NULL",
}
# (Constants only: the columns are ours, every value a `$n` parameter.)
LOGIN = f"""
WITH used AS (
    INSERT INTO used_identity_token (jti, expires_at) VALUES ($1, $2)
    ON CONFLICT DO NOTHING RETURNING jti
), known AS (
    UPDATE app_user SET name = $4, idp_subject = $5, assurance = $6, last_login_at = $7
    WHERE id_hash = ANY($3::text[]) AND EXISTS (SELECT 1 FROM used)
    RETURNING {RETURNING}
), made AS (
    INSERT INTO app_user (id, id_hash, id_encrypted, id_masked, name, idp_subject, assurance,
                          roles, disabled, created_at, last_login_at)
    SELECT $12::uuid, ($3::text[])[1], $13::text, $14::text, $4::text, $5::text, $6::text,
           $15::jsonb, false, $7::timestamptz, $7::timestamptz
    WHERE EXISTS (SELECT 1 FROM used) AND NOT EXISTS (SELECT 1 FROM known)
    ON CONFLICT (id_hash) DO UPDATE SET name = excluded.name,
        idp_subject = excluded.idp_subject, assurance = excluded.assurance,
        last_login_at = excluded.last_login_at
    RETURNING {RETURNING}
), account AS (
    SELECT * FROM known UNION ALL SELECT * FROM made
), family AS (
    INSERT INTO refresh_family
        (id, user_id, device_id, assurance, created_at, expires_at, revoked_reason)
    SELECT $8::uuid, id, $9::text, $6::text, $7::timestamptz, $10::timestamptz, ''
    FROM account WHERE NOT disabled AND (SELECT count(*) FROM account) = 1
    RETURNING id, user_id
), token AS (
    INSERT INTO refresh_token (family_id, token_hash, created_at)
    SELECT id, $11::text, $7::timestamptz FROM family
), line AS (
    {audit.insert(16, source="family", computed=LINE)}
)
SELECT EXISTS (SELECT 1 FROM used) AS first_use,
       family.id IS NOT NULL AS family_written, account.*
FROM (VALUES (1)) AS one LEFT JOIN account ON true
LEFT JOIN family ON family.user_id = account.id
"""  # noqa: S608


class PostgresLogins:
    async def record_login(self, draft: LoginDraft) -> LoginRecorded:
        if not 0 < len(draft.jti) <= JTI_MAX:
            return LoginRecorded(first_use=False)  # no id we could keep: never a first use
        family_id, new = uuid.uuid4(), draft.family
        values = [
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
            uuid.uuid4(),
            draft.id_encrypted,
            draft.id_masked,
            orjson.dumps(list(draft.roles)).decode(),
            draft.request_id[: audit.LIMITS["request_id"]],
        ]
        rows = await asyncpg_client().execute_query_dict(LOGIN, values)
        if len(rows) != 1:
            # Two accounts carry this person's hashes (a hash is unique, but a row written
            # under a key this worker does not know could be a second one): the token is
            # used and each got the login, but no family, no session, no audit line.
            raise StoredDataCorrupt(reason="accounts_share_a_person")
        row = rows[0]
        if not row["first_use"]:
            return LoginRecorded(first_use=False)
        account = account_of(row)
        if not row["family_written"]:
            return LoginRecorded(first_use=True, account=account)
        family = Family(str(family_id), account, new.device_id, new.assurance, new.expires_at)
        return LoginRecorded(first_use=True, account=account, family=family)
