"""The `UploadRecords` port (one row per kept upload) and its tortoise implementation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Protocol

from tortoise.transactions import in_transaction

from store.audit import AuditLine, LineWriter
from store.models import Upload


@dataclass(frozen=True)
class UploadRecord:
    id: str
    user_id: str
    kind: str
    media_type: str
    size: int
    flagged: bool
    flag_reason: str
    # base64 of the OCR fields as JSON, sealed with the upload key; None when not read.
    ocr_sealed: str | None
    created_at: datetime


class UploadRecords(Protocol):
    async def add(self, record: UploadRecord, line: AuditLine) -> None:
        """The upload's row and the audit line that says so, together."""
        ...

    async def get(self, upload_id: str) -> UploadRecord | None: ...


class TortoiseUploadRecords:
    def __init__(self, audit: LineWriter) -> None:
        self.audit = audit

    async def add(self, record: UploadRecord, line: AuditLine) -> None:
        async with in_transaction():
            await Upload.create(**asdict(record))
            await self.audit.write(line)

    async def get(self, upload_id: str) -> UploadRecord | None:
        row = await Upload.get_or_none(id=upload_id)
        if row is None:
            return None
        return UploadRecord(**{f.name: getattr(row, f.name) for f in fields(UploadRecord)})
