"""A filing's and a callback's statements written out for PostgreSQL (issue 13), picked by
server/bootstrap.

Tortoise spends ~150 µs building each query and model, on the worker that takes the
filings. Here the key is claimed in one statement; the application, its outbox row, the
key's outcome and the filing's audit line are one statement that inserts nothing unless the
key still waits for its outcome with our body; a callback's nonce is one statement, and its
read and status move another.
`PostgresApplicationRecords` overrides only those methods of its ORM version
(services/applications/records.py); the same contract tests hold both
(tests/integration/test_hot_statements.py and its SQLite twin).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from core.errors import IdempotencyKeyInFlight
from core.ids import is_uuid
from services.applications.records import (
    APPLICATION_FIELDS,
    FILE_ACTION,
    JSON,
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
CREATE = """
WITH settled AS (
    UPDATE idempotency_record SET application_id = $1
    WHERE user_id = $2 AND key = $9 AND fingerprint = $10 AND application_id IS NULL
    RETURNING 1
), filed AS (
    INSERT INTO application (id, user_id, item_code, status, history, materials, form,
                             materials_verified, created_at, updated_at)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $11, $11 FROM settled
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
# Read and moved in one statement: only from a status the new one is forward of (the
# status in the WHERE clause is the lock: history only changes with it).
MOVE_FORWARD = (
    "UPDATE application SET status = $2, history = history || $3::jsonb,"
    " result_certificate_id = COALESCE($4, result_certificate_id)"
    " WHERE id = $1 AND status = ANY($5::text[]) RETURNING 1"
)
EXISTS = "SELECT 1 FROM application WHERE id = $1"
NONCE = (
    "INSERT INTO callback_nonce (nonce, seen_at) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1"
)


class PostgresApplicationRecords(TortoiseApplicationRecords):
    async def claim_key(self, user_id: str, key: str, fingerprint: str, until: datetime) -> bool:
        values = [user_id, key, fingerprint, until, datetime.now(UTC)]
        return bool(await asyncpg_client().execute_query_dict(CLAIM_KEY, values))

    async def create(self, new: NewApplication, key: str, fingerprint: str) -> ApplicationView:
        history = [{"status": QUEUED, "at": rfc3339(new.at)}]
        rows = await asyncpg_client().execute_query_dict(
            CREATE,
            [
                uuid.UUID(new.id),
                new.user_id,
                new.item_code,
                QUEUED,
                JSON.to_db_value(history, Application),
                JSON.to_db_value(new.materials, Application),
                JSON.to_db_value(new.form, Application),
                new.materials_verified,
                key,
                fingerprint,
                new.at,
                new.filed_by[:64],
                new.request_id[:128],
                FILE_ACTION,
            ],
        )
        if not rows:
            raise IdempotencyKeyInFlight(reason="key_taken_over")
        return ApplicationView(
            id=new.id,
            user_id=new.user_id,
            item_code=new.item_code,
            status=QUEUED,
            history=((QUEUED, parse_rfc3339(history[0]["at"])),),
            created_at=new.at,
            materials=new.materials,
            form=new.form,
            materials_verified=new.materials_verified,
        )

    async def get(self, application_id: str) -> ApplicationView | None:
        if not is_uuid(application_id):
            return None
        rows = await asyncpg_client().execute_query_dict(GET, [uuid.UUID(application_id)])
        return view_of(rows[0]) if rows else None

    async def move_forward(
        self,
        application_id: str,
        status: str,
        at: datetime,
        result_certificate_id: str | None = None,
    ) -> bool | None:
        if not is_uuid(application_id):
            return None
        key = uuid.UUID(application_id)
        step = JSON.to_db_value([{"status": status, "at": rfc3339(at)}], Application)
        earlier = [s for s in RANK if moves_forward(s, status)]
        values = [key, status, step, result_certificate_id or None, earlier]
        if await asyncpg_client().execute_query_dict(MOVE_FORWARD, values):
            return True
        # Not moved: a late or repeated callback, or no such application (rare paths).
        return False if await asyncpg_client().execute_query_dict(EXISTS, [key]) else None

    async def _first_nonce(self, nonce: str, at: datetime) -> bool:
        return bool(await asyncpg_client().execute_query_dict(NONCE, [nonce, at]))
