"""What the applications service asks of where applications are kept.

Each write is one atomic unit, the same meaning on every implementation: a filing (its key,
application, outbox row and audit line), a callback (its nonce and the status it moves).
A key is written only with its application, so a key either names its application or is
unknown; a filing racing another with the same key waits for it (the key's unique index, or
SQLite's one connection) and then finds the key taken.

Implementations: `orm.TortoiseApplicationRecords` (SQLite), `postgres.
PostgresApplicationRecords` (each write one statement), `tests/fakes/applications.py`; one
contract suite holds all three (tests/contract_records/).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from services.applications.rules import QUEUED, ApplicationView
from services.times import parse_rfc3339, rfc3339
from store.audit import AuditLine

FILE_ACTION = "application.file"
NONCE_LENGTH = 64  # CallbackNonce.nonce's column: a longer nonce could never be kept


@dataclass(frozen=True)
class KeyRecord:
    """What an Idempotency-Key of a user names: the body it came with and its application
    (None only for a key an instance of the previous release still holds mid-upgrade; one
    it let lapse is no key at all, and the next filing takes it)."""

    fingerprint: str
    application_id: str | None


@dataclass(frozen=True)
class NewApplication:
    id: str
    user_id: str
    item_code: str
    materials: Mapping[str, Mapping[str, str]]
    form: Mapping[str, object]
    materials_verified: bool
    at: datetime
    filed_by: str  # the applicant as the audit line names them (masked ID number)
    request_id: str


# What became of a gateway callback: its nonce seen before; the status moved on; kept (a
# late or repeated status); no such application.
CallbackTaken = Literal["replayed", "moved", "kept", "unknown"]


class ApplicationRecords(Protocol):
    async def key(self, user_id: str, key: str) -> KeyRecord | None: ...

    async def key_once_written(self, user_id: str, key: str) -> KeyRecord | None:
        """`key`, read once any filing of it still being written has committed or failed."""
        ...

    async def file_new(
        self, new: NewApplication, key: str, fingerprint: str
    ) -> ApplicationView | None:
        """The key with the application it makes, its outbox row and its audit line, all or
        nothing; None, storing nothing, when the key is known already."""
        ...

    async def get(self, application_id: str) -> ApplicationView | None: ...

    async def page_of(
        self, user_id: str, before: tuple[datetime, str] | None, limit: int
    ) -> list[ApplicationView]:
        """Newest first, from just after `before` (created_at, id)."""
        ...

    async def first_nonce_use(self, nonce: str, at: datetime) -> bool:
        """False if the nonce was used before, or is one no column could keep."""
        ...

    async def take_callback(
        self,
        nonce: str,
        at: datetime,
        application_id: str,
        status: str,
        result_certificate_id: str | None = None,
    ) -> CallbackTaken:
        """The callback's nonce used and, only on its first use, the status moved on if
        that is forward (rules' `moves_forward`), all or nothing."""
        ...

    async def completed_count(self) -> int: ...

    async def forget_nonces(self, before: datetime) -> None: ...


def filing_line(new: NewApplication) -> AuditLine:
    """A filing's audit line, written with its application, never one without the other."""
    return AuditLine(
        actor=new.filed_by,
        action=FILE_ACTION,
        target=f"application:{new.id}",
        reason=new.item_code,
        actor_user_id=new.user_id,
        request_id=new.request_id,
        at=new.at,
    )


def queued_view(new: NewApplication) -> ApplicationView:
    """A new application as it reads back once filed."""
    return ApplicationView(
        id=new.id,
        user_id=new.user_id,
        item_code=new.item_code,
        status=QUEUED,
        # Its history's times are kept as RFC 3339 text.
        history=((QUEUED, parse_rfc3339(rfc3339(new.at))),),
        created_at=new.at,
        materials={k: dict(v) for k, v in new.materials.items()},
        form=dict(new.form),
        materials_verified=new.materials_verified,
    )
