"""Where applications, their idempotency keys and callback nonces are kept: the port the
service needs and its tortoise version. Every ORM query about applications lives here."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.errors import IdempotencyKeyInFlight
from core.ids import is_uuid
from services import audit
from services.applications.rules import COMPLETED, QUEUED, ApplicationView, moves_forward
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
    filed_by: str  # the applicant as the audit line names them (masked ID number)
    request_id: str


# A filing's audit line is written with the application, never one without the other.
FILE_ACTION = "application.file"


# What became of a gateway callback: its nonce seen before; the status moved on; kept (a
# late or repeated status); no such application.
CallbackTaken = Literal["replayed", "moved", "kept", "unknown"]


class ApplicationRecords(Protocol):
    async def key(self, user_id: str, key: str) -> KeyRecord | None: ...

    async def key_after_writers(self, user_id: str, key: str) -> KeyRecord | None:
        """`key`, read once any filing still writing that key has committed or failed."""
        ...

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
        """The application, its outbox row, its key's outcome and its audit line, in one
        transaction."""
        ...

    async def file_new(
        self, new: NewApplication, key: str, fingerprint: str, until: datetime
    ) -> ApplicationView | None:
        """A key not seen before, with the application it makes (`create`'s rows); None,
        storing nothing, when the key is known. A key held by a filing still under way is
        held until `until`."""
        ...

    async def get(self, application_id: str) -> ApplicationView | None: ...

    async def page_of(
        self, user_id: str, before: tuple[datetime, str] | None, limit: int
    ) -> list[ApplicationView]: ...

    async def move_forward(
        self,
        application_id: str,
        status: str,
        at: datetime,
        result_certificate_id: str | None = None,
    ) -> bool | None:
        """Moves the status on to `status` if that is forward from where it stands (rules'
        `moves_forward`): True if it moved, False if not (a late or repeated callback),
        None if there is no such application."""
        ...

    async def completed_count(self) -> int: ...

    async def first_nonce_use(self, nonce: str, at: datetime) -> bool: ...

    async def take_callback(
        self,
        nonce: str,
        at: datetime,
        application_id: str,
        status: str,
        result_certificate_id: str | None = None,
    ) -> CallbackTaken:
        """The callback's nonce used, and only on its first use the status moved on
        (`move_forward`)."""
        ...

    async def forget_nonces(self, before: datetime) -> None: ...


# What a view is read from; services/applications/on_postgres.py selects the same columns.
APPLICATION_FIELDS = (
    "id",
    "user_id",
    "item_code",
    "status",
    "history",
    "materials",
    "form",
    "materials_verified",
    "gateway_application_id",
    "result_certificate_id",
    "created_at",
)
JSON = Application._meta.fields_map["history"]  # the model's own JSON encoding


def view_of(row: Mapping[str, Any]) -> ApplicationView:
    """The view of a row: a model's fields or a written-out statement's columns (whose JSON
    comes as text)."""
    history = JSON.to_python_value(row["history"])
    return ApplicationView(
        id=str(row["id"]),
        user_id=row["user_id"],
        item_code=row["item_code"],
        status=row["status"],
        history=tuple((h["status"], parse_rfc3339(h["at"])) for h in history),
        created_at=row["created_at"],
        materials=JSON.to_python_value(row["materials"]),
        form=JSON.to_python_value(row["form"]),
        materials_verified=row["materials_verified"],
        gateway_application_id=row["gateway_application_id"],
        result_certificate_id=row["result_certificate_id"],
    )


def view(row: Application) -> ApplicationView:
    return view_of({field: getattr(row, field) for field in APPLICATION_FIELDS})


NONCE_LENGTH = 64  # CallbackNonce.nonce's column


class TortoiseApplicationRecords:
    """The ORM version: SQLite's, and the reference for services/applications/on_postgres.py,
    whose subclass bootstrap picks on PostgreSQL."""

    async def key(self, user_id: str, key: str) -> KeyRecord | None:
        row = await IdempotencyRecord.get_or_none(user_id=user_id, key=key)
        if row is None:
            return None
        app_id = str(row.application_id) if row.application_id else None
        return KeyRecord(row.fingerprint, app_id, row.claimed_until)

    async def key_after_writers(self, user_id: str, key: str) -> KeyRecord | None:
        # The ORM's filing claims its key first, in a statement of its own: a claim is
        # seen as soon as it is made. (PostgreSQL's one-statement filing is not.)
        return await self.key(user_id, key)

    async def claim_key(self, user_id: str, key: str, fingerprint: str, until: datetime) -> bool:
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
            await audit.record(
                actor=new.filed_by,
                action=FILE_ACTION,
                target=f"application:{new.id}",
                reason=new.item_code,
                actor_user_id=new.user_id,
                request_id=new.request_id,
                connection=conn,
            )
        return view(row)

    async def file_new(
        self, new: NewApplication, key: str, fingerprint: str, until: datetime
    ) -> ApplicationView | None:
        # Two steps here; one statement on PostgreSQL (services/applications/on_postgres.py).
        if not await self.claim_key(new.user_id, key, fingerprint, until):
            return None
        try:
            return await self.create(new, key, fingerprint)
        except BaseException:
            # Shielded: a client that hangs up must not leave its key held for the lease.
            await asyncio.shield(self.release_key(new.user_id, key))
            raise

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

    async def move_forward(
        self,
        application_id: str,
        status: str,
        at: datetime,
        result_certificate_id: str | None = None,
    ) -> bool | None:
        for _ in range(3):
            current = await self.get(application_id)
            if current is None:
                return None
            if not moves_forward(current.status, status):
                return False
            if await self._advance(current, status, at, result_certificate_id):
                return True
        return False  # moved by others three times meanwhile: this one is late

    async def _advance(
        self,
        current: ApplicationView,
        status: str,
        at: datetime,
        result_certificate_id: str | None,
    ) -> bool:
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
        return await self._first_nonce(nonce, at)

    async def _first_nonce(self, nonce: str, at: datetime) -> bool:
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
        # One transaction: a failure between the two must not leave the nonce used and the
        # status unmoved, or the gateway's retry would be refused as a replay.
        async with in_transaction():
            if not await self.first_nonce_use(nonce, at):
                return "replayed"
            moved = await self.move_forward(application_id, status, at, result_certificate_id)
        return "unknown" if moved is None else "moved" if moved else "kept"

    async def forget_nonces(self, before: datetime) -> None:
        await CallbackNonce.filter(seen_at__lt=before).delete()
