"""Where applications, their idempotency keys and callback nonces are kept: the port the
service needs and its tortoise version. Every ORM query about applications lives here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from tortoise.backends.asyncpg import AsyncpgDBClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.errors import IdempotencyKeyInFlight
from core.ids import is_uuid
from services.applications.rules import COMPLETED, QUEUED, ApplicationView
from services.db import postgres
from services.models import Application, CallbackNonce, IdempotencyRecord, OutboxRow
from services.times import parse_rfc3339, rfc3339


@dataclass(frozen=True)
class KeyRecord:
    """What an Idempotency-Key of a user stands for now."""

    fingerprint: str
    application_id: str | None
    claimed_until: datetime


@dataclass(frozen=True)
class NewApplication:
    id: str
    user_id: str
    item_code: str
    materials: dict[str, dict[str, str]]
    form: dict[str, object]
    materials_verified: bool
    at: datetime


class ApplicationRecords(Protocol):
    async def key(self, user_id: str, key: str) -> KeyRecord | None: ...

    async def claim_key(self, user_id: str, key: str, fingerprint: str, until: datetime) -> bool:
        """Marks the key as being handled; False when someone holds it already."""
        ...

    async def take_over_key(
        self, user_id: str, key: str, fingerprint: str, now: datetime, until: datetime
    ) -> bool:
        """Takes a key whose first request died before finishing; False if it did not."""
        ...

    async def release_key(self, user_id: str, key: str) -> None: ...

    async def create(self, new: NewApplication, key: str, fingerprint: str) -> ApplicationView:
        """The application, its outbox row and its key's outcome, in one transaction."""
        ...

    async def get(self, application_id: str) -> ApplicationView | None: ...

    async def page_of(
        self, user_id: str, before: tuple[datetime, str] | None, limit: int
    ) -> list[ApplicationView]: ...

    async def advance(
        self,
        current: ApplicationView,
        status: str,
        at: datetime,
        result_certificate_id: str | None = None,
    ) -> bool:
        """Moves the status on from `current`; False if someone moved it first."""
        ...

    async def completed_count(self) -> int: ...

    async def first_nonce_use(self, nonce: str, at: datetime) -> bool: ...

    async def forget_nonces(self, before: datetime) -> None: ...


APPLICATION_COLUMNS = (
    "a.id, a.user_id, a.item_code, a.status, a.history, a.materials, a.form,"
    " a.materials_verified, a.gateway_application_id, a.result_certificate_id, a.created_at"
)
# Constants only: the columns are ours, every value a `$n` parameter.
GET = f"SELECT {APPLICATION_COLUMNS} FROM application a WHERE a.id = $1"  # noqa: S608
# The status in the WHERE clause is the lock: history only changes with it.
ADVANCE = (
    "UPDATE application SET status = $2, history = history || $3::jsonb,"
    " result_certificate_id = COALESCE($4, result_certificate_id)"
    " WHERE id = $1 AND status = $5 RETURNING 1"
)
NONCE = (
    "INSERT INTO callback_nonce (nonce, seen_at) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1"
)
NONCE_LENGTH = 64  # CallbackNonce.nonce's column
_json = Application._meta.fields_map["history"]  # the model's own JSON encoding


def view_of_row(row: Mapping[str, Any]) -> ApplicationView:
    """The view of a row a written-out statement read (APPLICATION_COLUMNS)."""
    history = _json.to_python_value(row["history"])
    return ApplicationView(
        id=str(row["id"]),
        user_id=row["user_id"],
        item_code=row["item_code"],
        status=row["status"],
        history=tuple((h["status"], parse_rfc3339(h["at"])) for h in history),
        created_at=row["created_at"],
        materials=_json.to_python_value(row["materials"]),
        form=_json.to_python_value(row["form"]),
        materials_verified=row["materials_verified"],
        gateway_application_id=row["gateway_application_id"],
        result_certificate_id=row["result_certificate_id"],
    )


def view(row: Application) -> ApplicationView:
    return ApplicationView(
        id=str(row.id),
        user_id=row.user_id,
        item_code=row.item_code,
        status=row.status,
        history=tuple((h["status"], parse_rfc3339(h["at"])) for h in row.history),
        created_at=row.created_at,
        materials=row.materials,
        form=row.form,
        materials_verified=row.materials_verified,
        gateway_application_id=row.gateway_application_id,
        result_certificate_id=row.result_certificate_id,
    )


# A filing's two writes, written out for PostgreSQL (issue 13): the key is claimed in one
# statement, and the application, its outbox row and the key's outcome are one statement
# that inserts nothing unless the key still waits for its outcome with our body.
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
)
INSERT INTO outbox (application_id, state, attempts, next_attempt_at, last_error, created_at)
SELECT id, 'pending', 0, $11, '', $11 FROM filed
RETURNING id
"""


class TortoiseApplicationRecords:
    async def key(self, user_id: str, key: str) -> KeyRecord | None:
        row = await IdempotencyRecord.get_or_none(user_id=user_id, key=key)
        if row is None:
            return None
        app_id = str(row.application_id) if row.application_id else None
        return KeyRecord(row.fingerprint, app_id, row.claimed_until)

    async def claim_key(self, user_id: str, key: str, fingerprint: str, until: datetime) -> bool:
        if (pg := postgres()) is not None:
            rows = await pg.execute_query_dict(
                CLAIM_KEY, [user_id, key, fingerprint, until, datetime.now(UTC)]
            )
            return bool(rows)
        try:
            await IdempotencyRecord.create(
                user_id=user_id, key=key, fingerprint=fingerprint, claimed_until=until
            )
        except IntegrityError:
            return False
        return True

    async def take_over_key(
        self, user_id: str, key: str, fingerprint: str, now: datetime, until: datetime
    ) -> bool:
        taken = await IdempotencyRecord.filter(
            user_id=user_id, key=key, application_id__isnull=True, claimed_until__lt=now
        ).update(fingerprint=fingerprint, claimed_until=until)
        return bool(taken)

    async def release_key(self, user_id: str, key: str) -> None:
        await IdempotencyRecord.filter(
            user_id=user_id, key=key, application_id__isnull=True
        ).delete()

    async def create(self, new: NewApplication, key: str, fingerprint: str) -> ApplicationView:
        if (pg := postgres()) is not None:
            return await _create_on_postgres(pg, new, key, fingerprint)
        async with in_transaction() as conn:
            row = await Application.create(
                id=uuid.UUID(new.id),
                user_id=new.user_id,
                item_code=new.item_code,
                status=QUEUED,
                history=[{"status": QUEUED, "at": rfc3339(new.at)}],
                materials=new.materials,
                form=new.form,
                materials_verified=new.materials_verified,
                using_db=conn,
            )
            await OutboxRow.create(
                application_id=row.id, state="pending", next_attempt_at=new.at, using_db=conn
            )
            # The key is ours only while it still waits for its outcome with our body.
            settled = await (
                IdempotencyRecord.filter(
                    user_id=new.user_id,
                    key=key,
                    fingerprint=fingerprint,
                    application_id__isnull=True,
                )
                .using_db(conn)
                .update(application_id=row.id)
            )
            if not settled:
                raise IdempotencyKeyInFlight(reason="key_taken_over")
        return view(row)

    async def get(self, application_id: str) -> ApplicationView | None:
        if not is_uuid(application_id):
            return None
        if (pg := postgres()) is not None:
            rows = await pg.execute_query_dict(GET, [uuid.UUID(application_id)])
            return view_of_row(rows[0]) if rows else None
        row = await Application.get_or_none(id=application_id)
        return None if row is None else view(row)

    async def page_of(
        self, user_id: str, before: tuple[datetime, str] | None, limit: int
    ) -> list[ApplicationView]:
        rows = Application.filter(user_id=user_id)
        if before is not None:
            at, last_id = before
            rows = rows.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=last_id))
        return [view(r) for r in await rows.order_by("-created_at", "-id").limit(limit)]

    async def advance(
        self,
        current: ApplicationView,
        status: str,
        at: datetime,
        result_certificate_id: str | None = None,
    ) -> bool:
        if (pg := postgres()) is not None:
            step = _json.to_db_value([{"status": status, "at": rfc3339(at)}], Application)
            moved_rows = await pg.execute_query_dict(
                ADVANCE,
                [
                    uuid.UUID(current.id),
                    status,
                    step,
                    result_certificate_id or None,
                    current.status,
                ],
            )
            return bool(moved_rows)
        history = [{"status": s, "at": rfc3339(t)} for s, t in current.history]
        changes: dict[str, object] = {
            "status": status,
            "history": [*history, {"status": status, "at": rfc3339(at)}],
        }
        if result_certificate_id:
            changes["result_certificate_id"] = result_certificate_id
        # The status in the WHERE clause is the lock: history only changes with it.
        moved = await Application.filter(id=current.id, status=current.status).update(**changes)
        return bool(moved)

    async def completed_count(self) -> int:
        return await Application.filter(status=COMPLETED).count()

    async def first_nonce_use(self, nonce: str, at: datetime) -> bool:
        if not 0 < len(nonce) <= NONCE_LENGTH:
            return False  # no column could hold it: never a first use
        if (pg := postgres()) is not None:
            return bool(await pg.execute_query_dict(NONCE, [nonce, at]))
        try:
            await CallbackNonce.create(nonce=nonce, seen_at=at)
        except IntegrityError:
            return False
        return True

    async def forget_nonces(self, before: datetime) -> None:
        await CallbackNonce.filter(seen_at__lt=before).delete()


async def _create_on_postgres(
    pg: AsyncpgDBClient, new: NewApplication, key: str, fingerprint: str
) -> ApplicationView:
    history = [{"status": QUEUED, "at": rfc3339(new.at)}]
    json = _json.to_db_value
    rows = await pg.execute_query_dict(
        CREATE,
        [
            uuid.UUID(new.id),
            new.user_id,
            new.item_code,
            QUEUED,
            json(history, Application),
            json(new.materials, Application),
            json(new.form, Application),
            new.materials_verified,
            key,
            fingerprint,
            new.at,
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
