"""Fakes of the uploads ports: the upload records and an OCR engine that answers on cue."""

from __future__ import annotations

from pathlib import Path

from services.uploads import UploadRecord
from store.audit import AuditLine
from tests.fakes.common import FakeAudit


class FakeUploadRecords:
    """UploadRecords in a dict; `failure`, when set, is raised by `add` (a database down)."""

    def __init__(self, audit: FakeAudit | None = None) -> None:
        self.rows: dict[str, UploadRecord] = {}
        self.audit = audit if audit is not None else FakeAudit()
        self.failure: Exception | None = None
        self.calls: list[tuple] = []

    async def add(self, record: UploadRecord, line: AuditLine) -> None:
        self.calls.append(("add", record.id))
        if self.failure is not None:
            raise self.failure
        if record.id in self.rows:
            raise ValueError("unique constraint: upload.id")
        self.rows[record.id] = record
        self.audit.keep(line)

    async def get(self, upload_id: str) -> UploadRecord | None:
        self.calls.append(("get", upload_id))
        return self.rows.get(upload_id)


class FakeOcrEngine:
    """Reads whatever fields it was told to; `failure`, when set, is raised instead."""

    def __init__(self, fields: dict[str, str] | None = None) -> None:
        self.fields = dict(fields or {})
        self.failure: Exception | None = None
        self.calls: list[tuple[Path, str]] = []

    async def read_id_card(self, image: Path, media_type: str) -> dict[str, str]:
        self.calls.append((image, media_type))
        if self.failure is not None:
            raise self.failure
        return dict(self.fields)
