"""The `UploadRecords` port (one row per kept upload) and its tortoise implementation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.models import Upload


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
    async def add(self, record: UploadRecord) -> None: ...

    async def get(self, upload_id: str) -> UploadRecord | None: ...


class TortoiseUploadRecords:
    async def add(self, record: UploadRecord) -> None:
        await Upload.create(
            id=record.id,
            user_id=record.user_id,
            kind=record.kind,
            media_type=record.media_type,
            size=record.size,
            flagged=record.flagged,
            flag_reason=record.flag_reason,
            ocr_sealed=record.ocr_sealed,
            created_at=record.created_at,
        )

    async def get(self, upload_id: str) -> UploadRecord | None:
        row = await Upload.get_or_none(id=upload_id)
        if row is None:
            return None
        return UploadRecord(
            id=row.id,
            user_id=row.user_id,
            kind=row.kind,
            media_type=row.media_type,
            size=row.size,
            flagged=row.flagged,
            flag_reason=row.flag_reason,
            ocr_sealed=row.ocr_sealed,
            created_at=row.created_at,
        )
