"""`ApplicationRecords` through tortoise: the one SQLite runs. Each write is one transaction;
on SQLite tortoise holds its one connection for it, so every other query (a racing filing's
key read included) waits until it has committed."""

from __future__ import annotations

import uuid
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.clock import utc
from core.ids import is_uuid
from services.applications.records.port import (
    NONCE_LENGTH,
    CallbackTaken,
    KeyRecord,
    NewApplication,
    filing_line,
    queued_view,
)
from services.applications.records.rows import view
from services.applications.rules import COMPLETED, QUEUED, ApplicationView, moves_forward
from services.times import rfc3339
from store.audit import OrmAuditWriter
from store.models import Application, CallbackNonce, IdempotencyRecord, OutboxRow


class TortoiseApplicationRecords:
    def __init__(self) -> None:
        self._audit = OrmAuditWriter()

    async def key(self, user_id: str, key: str) -> KeyRecord | None:
        row = await IdempotencyRecord.get_or_none(user_id=user_id, key=key)
        if row is None or _lapsed(row, utc()):
            return None
        app_id = str(row.application_id) if row.application_id else None
        return KeyRecord(row.fingerprint, app_id)

    async def key_once_written(self, user_id: str, key: str) -> KeyRecord | None:
        # A filing is one transaction, and on SQLite a read waits for it to end.
        return await self.key(user_id, key)

    async def file_new(
        self, new: NewApplication, key: str, fingerprint: str
    ) -> ApplicationView | None:
        try:
            async with in_transaction():
                # The key first: a racing filing of it fails here, before writing the rest.
                taken = await IdempotencyRecord.get_or_none(user_id=new.user_id, key=key)
                if taken is not None and not _lapsed(taken, new.at):
                    return None
                if taken is not None:
                    await taken.delete()
                await IdempotencyRecord.create(
                    user_id=new.user_id,
                    key=key,
                    fingerprint=fingerprint,
                    application_id=uuid.UUID(new.id),
                    claimed_until=new.at,
                )
                await Application.create(
                    id=uuid.UUID(new.id),
                    user_id=new.user_id,
                    item_code=new.item_code,
                    status=QUEUED,
                    history=[{"status": QUEUED, "at": rfc3339(new.at)}],
                    materials=new.materials,
                    form=new.form,
                    materials_verified=new.materials_verified,
                    created_at=new.at,
                )
                await OutboxRow.create(
                    application_id=uuid.UUID(new.id), state="pending", next_attempt_at=new.at
                )
                await self._audit.write(filing_line(new))
        except IntegrityError:
            if await self.key(new.user_id, key) is None:
                raise  # not the key's unique index: a bug, not a race
            return None
        return queued_view(new)

    async def get(self, application_id: str) -> ApplicationView | None:
        if not is_uuid(application_id):
            return None
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

    async def first_nonce_use(self, nonce: str, at: datetime) -> bool:
        if not 0 < len(nonce) <= NONCE_LENGTH:
            return False
        try:
            await CallbackNonce.create(nonce=nonce, seen_at=at)
        except IntegrityError:
            return False
        return True

    async def take_callback(
        self,
        nonce: str,
        at: datetime,
        application_id: str,
        status: str,
        result_certificate_id: str | None = None,
    ) -> CallbackTaken:
        async with in_transaction():
            if not await self.first_nonce_use(nonce, at):
                return "replayed"
            current = await self.get(application_id)
            if current is None:
                return "unknown"
            if not moves_forward(current.status, status):
                return "kept"
            history = [{"status": s, "at": rfc3339(t)} for s, t in current.history]
            changes: dict[str, object] = {
                "status": status,
                "history": [*history, {"status": status, "at": rfc3339(at)}],
            }
            if result_certificate_id:
                changes["result_certificate_id"] = result_certificate_id
            # The status in the WHERE clause is the lock: history only changes with it.
            moved = await Application.filter(id=current.id, status=current.status).update(**changes)
        return "moved" if moved else "kept"

    async def completed_count(self) -> int:
        return await Application.filter(status=COMPLETED).count()

    async def forget_nonces(self, before: datetime) -> None:
        await CallbackNonce.filter(seen_at__lt=before).delete()


def _lapsed(row: IdempotencyRecord, now: datetime) -> bool:
    """A key the previous release claimed (before filing) and let lapse: it names nothing."""
    return row.application_id is None and row.claimed_until < now
