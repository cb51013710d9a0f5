"""A filing's and a callback's statements written out for PostgreSQL (issue 13), picked by
server/bootstrap.

Tortoise spends ~150 µs building each query and model, on the worker that takes the
filings. Here a new key, its application, outbox row and audit line are one statement
(FILE_NEW); for a key already known (a retry, or one an older instance claimed first) the
key is claimed in one and the rest is one that inserts nothing unless the key still waits
for its outcome with our body (CLAIM_KEY, CREATE); a callback's nonce and its status move
are one.
`PostgresApplicationRecords` overrides only those methods of its ORM version
(services/applications/records.py); the same contract tests hold both
(tests/integration/test_hot_statements.py and its SQLite twin).
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from core.errors import IdempotencyKeyInFlight
from core.ids import is_uuid
from services.applications.records import (
    APPLICATION_FIELDS,
    FILE_ACTION,
    JSON,
    NONCE_LENGTH,
    CallbackTaken,
    KeyRecord,
    NewApplication,
    TortoiseApplicationRecords,
    view_of,
)
from services.applications.rules import QUEUED, RANK, ApplicationView, moves_forward
from services.db import asyncpg_client
from services.models import Application
from services.times import parse_rfc3339, rfc3339

APPLICATION_COLUMNS = ", ".join(f"a.{field}" for field in APPLICATION_FIELDS)
# Constants only: the columns are ours, every value a `$n` parameter.
GET = f"SELECT {APPLICATION_COLUMNS} FROM application a WHERE a.id = $1"  # noqa: S608
CLAIM_KEY = (
    "INSERT INTO idempotency_record (user_id, key, fingerprint, claimed_until, created_at)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, key) DO NOTHING RETURNING id"
)
# The application, its audit line and its outbox row, only if the step named `{gate}` (the
# statement's first) returned a row: written once, for CREATE and FILE_NEW.
_FILED_AFTER = """
), filed AS (
    INSERT INTO application (id, user_id, item_code, status, history, materials, form,
                             materials_verified, created_at, updated_at)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $11, $11 FROM {gate}
    RETURNING id
), logged AS (
    INSERT INTO audit_entry (at, actor, action, target, outcome, reason, actor_user_id,
                             request_id, purpose)
    SELECT $11, $12, $14, 'application:' || id::text, 'ok', $3, $2, $13, '' FROM filed
)
INSERT INTO outbox (application_id, state, attempts, next_attempt_at, last_error, created_at)
SELECT id, 'pending', 0, $11, '', $11 FROM filed
RETURNING id
"""
# A key claimed earlier (CLAIM_KEY) settled with its application, only while it still waits
# for its outcome with our body.
CREATE = """
WITH settled AS (
    UPDATE idempotency_record SET application_id = $1
    WHERE user_id = $2 AND key = $9 AND fingerprint = $10 AND application_id IS NULL
    RETURNING 1""" + _FILED_AFTER.format(gate="settled")  # noqa: S608 - constants only
# A new key with the application it makes, its audit line and its outbox row; nothing at all
# if the key is known (its unique index: a racing filing with the same key waits for this
# one's commit, then stores nothing).
FILE_NEW = """
WITH claimed AS (
    INSERT INTO idempotency_record (user_id, key, fingerprint, claimed_until, created_at,
                                    application_id)
    VALUES ($2, $9, $10, $11, $11, $1)
    ON CONFLICT (user_id, key) DO NOTHING
    RETURNING 1""" + _FILED_AFTER.format(gate="claimed")  # noqa: S608 - constants only
# Waits behind any uncommitted filing of the key (its unique index), inserting nothing that
# outlives the transaction it is rolled back with.
PROBE_KEY = (
    "INSERT INTO idempotency_record (user_id, key, fingerprint, claimed_until, created_at)"
    " VALUES ($1, $2, '', $3, $3) ON CONFLICT (user_id, key) DO NOTHING"
)
# A callback's nonce used and, only on its first use, its application moved on: only from a
# status the new one is forward of (the status in the WHERE clause is the lock: history only
# changes with it). `known` reads the application as it stood before, to tell a late or
# repeated status from an application that does not exist.
CALLBACK = """
WITH fresh AS (
    INSERT INTO callback_nonce (nonce, seen_at) VALUES ($6, $7)
    ON CONFLICT DO NOTHING RETURNING 1
), moved AS (
    UPDATE application SET status = $2, history = history || $3::jsonb,
                           result_certificate_id = COALESCE($4, result_certificate_id)
    WHERE id = $1 AND status = ANY($5::text[]) AND EXISTS (SELECT 1 FROM fresh)
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM fresh) AS fresh, EXISTS (SELECT 1 FROM moved) AS moved,
       EXISTS (SELECT 1 FROM application WHERE id = $1) AS known
"""
NONCE = (
    "INSERT INTO callback_nonce (nonce, seen_at) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1"
)


class _Probed(Exception):  # noqa: N818 - rolls the probe's transaction back
    """The key's probe is done."""


class PostgresApplicationRecords(TortoiseApplicationRecords):
    async def claim_key(self, user_id: str, key: str, fingerprint: str, until: datetime) -> bool:
        values = [user_id, key, fingerprint, until, datetime.now(UTC)]
        return bool(await asyncpg_client().execute_query_dict(CLAIM_KEY, values))

    async def create(self, new: NewApplication, key: str, fingerprint: str) -> ApplicationView:
        rows = await asyncpg_client().execute_query_dict(CREATE, _values(new, key, fingerprint))
        if not rows:
            raise IdempotencyKeyInFlight(reason="key_taken_over")
        return _filed(new)

    async def key_after_writers(self, user_id: str, key: str) -> KeyRecord | None:
        # FILE_NEW writes a key with its application in one statement, unseen until it
        # commits: a filing the checks refused, racing it with the same key, would read
        # nothing and answer its refusal while the other files. Only refusals come here.
        with contextlib.suppress(_Probed):
            async with in_transaction():
                await asyncpg_client().execute_query(PROBE_KEY, [user_id, key, datetime.now(UTC)])
                raise _Probed  # rolled back: the probe leaves nothing
        return await self.key(user_id, key)

    async def file_new(
        self, new: NewApplication, key: str, fingerprint: str, until: datetime
    ) -> ApplicationView | None:
        # `until` bounds a key held while its filing is under way: this one never is.
        rows = await asyncpg_client().execute_query_dict(FILE_NEW, _values(new, key, fingerprint))
        return _filed(new) if rows else None

    async def get(self, application_id: str) -> ApplicationView | None:
        if not is_uuid(application_id):
            return None
        rows = await asyncpg_client().execute_query_dict(GET, [uuid.UUID(application_id)])
        return view_of(rows[0]) if rows else None

    async def take_callback(
        self,
        nonce: str,
        at: datetime,
        application_id: str,
        status: str,
        result_certificate_id: str | None = None,
    ) -> CallbackTaken:
        if not 0 < len(nonce) <= NONCE_LENGTH or not is_uuid(application_id):
            # Rare paths (a nonce no column could hold, an id that names nothing): the
            # ORM's steps, which use the nonce all the same.
            return await super().take_callback(
                nonce, at, application_id, status, result_certificate_id
            )
        step = JSON.to_db_value([{"status": status, "at": rfc3339(at)}], Application)
        earlier = [s for s in RANK if moves_forward(s, status)]
        values = [
            uuid.UUID(application_id),
            status,
            step,
            result_certificate_id or None,
            earlier,
            nonce,
            at,
        ]
        (taken,) = await asyncpg_client().execute_query_dict(CALLBACK, values)
        if not taken["fresh"]:
            return "replayed"
        if taken["moved"]:
            return "moved"
        return "kept" if taken["known"] else "unknown"

    async def _first_nonce(self, nonce: str, at: datetime) -> bool:
        return bool(await asyncpg_client().execute_query_dict(NONCE, [nonce, at]))


def _values(new: NewApplication, key: str, fingerprint: str) -> list:
    """The parameters CREATE and FILE_NEW share."""
    return [
        uuid.UUID(new.id),
        new.user_id,
        new.item_code,
        QUEUED,
        JSON.to_db_value([{"status": QUEUED, "at": rfc3339(new.at)}], Application),
        JSON.to_db_value(new.materials, Application),
        JSON.to_db_value(new.form, Application),
        new.materials_verified,
        key,
        fingerprint,
        new.at,
        new.filed_by[:64],
        new.request_id[:128],
        FILE_ACTION,
    ]


def _filed(new: NewApplication) -> ApplicationView:
    return ApplicationView(
        id=new.id,
        user_id=new.user_id,
        item_code=new.item_code,
        status=QUEUED,
        # As the history will read back: its times are kept as RFC 3339 text.
        history=((QUEUED, parse_rfc3339(rfc3339(new.at))),),
        created_at=new.at,
        materials=new.materials,
        form=new.form,
        materials_verified=new.materials_verified,
    )
