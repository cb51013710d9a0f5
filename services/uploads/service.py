"""`Uploads`: take a citizen's file, check it, read an ID card, keep it sealed; and tell the
application flow whether an upload is the caller's to use.

    accept(user, kind, spool)
      kind and file given ─▶ not empty ─▶ type by its bytes; PDF checked / image stripped
      ─▶ id_card: OCR on the file as received, verdict against the caller's own number
      ─▶ sealed under a new server-made id ─▶ its row and audit line, together

A refused upload leaves nothing behind: the spool is discarded by its context manager, the
sealed file exists only once every check has passed, and it is removed again when its row
cannot be written. Parsing, stripping and sealing run in worker threads, off the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import orjson

from core.clock import Clock, utc, wall
from core.errors import InvalidRequest, Unavailable, UploadEmpty
from services.holders import Holder, Holders
from services.uploads import checks
from services.uploads.ocr import OcrEngine
from services.uploads.records import UploadRecord, UploadRecords
from services.uploads.rules import ID_CARD, KINDS, IdCardReading, UploadView, judge_id_card
from services.uploads.store import Spool, UploadStore, is_upload_id
from store.audit import AuditLine

OCR_TIMEOUT_SECONDS = 20.0


class Uploads:
    def __init__(
        self,
        store: UploadStore,
        records: UploadRecords,
        holders: Holders,
        engine: OcrEngine,
        *,
        max_bytes: int,
        clock: Clock = wall,
    ) -> None:
        self.store = store
        self.records = records
        self.holders = holders
        self.engine = engine
        self.max_bytes = max_bytes
        self._clock = clock

    @contextlib.contextmanager
    def spool(self) -> Iterator[Spool]:
        """Where one request writes its file as it arrives; removed when the block ends."""
        with self.store.spool(self.max_bytes) as spool:
            yield spool

    async def accept(
        self, user_id: str, kind: str | None, spool: Spool, request_id: str = ""
    ) -> UploadView:
        kind = _checked_form(kind, spool)
        spool.close_writing()
        if spool.size == 0:
            raise UploadEmpty()
        media_type, keep = await asyncio.to_thread(checks.prepare, spool.path, spool.scratch())
        holder = await self.holders.of_user(user_id)
        reading = None
        if kind == ID_CARD:
            reading = await self._read_id_card(holder, spool.path, media_type)
        view = UploadView(
            id=uuid.uuid4().hex,
            user_id=user_id,
            kind=kind,
            media_type=media_type,
            size=keep.stat().st_size,
            flagged=reading.flagged if reading else False,
            flag_reason=reading.flag_reason if reading else "",
            ocr=reading.fields if reading else None,
            created_at=utc(self._clock),
        )
        await asyncio.to_thread(self.store.seal, view.id, keep)
        try:
            await self.records.add(self._record(view), _accepted(holder, view, request_id))
        except BaseException:
            self.store.remove(view.id)
            raise
        return view

    async def usable_by(self, user_id: str, upload_id: str) -> UploadView | None:
        """The upload when it is this user's; None for someone else's or an unknown id."""
        if not is_upload_id(upload_id):
            return None
        record = await self.records.get(upload_id)
        if record is None or record.user_id != user_id:
            return None
        return self._view(record)

    async def read_file(self, user_id: str, upload_id: str) -> bytes | None:
        """The kept file (metadata already stripped), for its owner only."""
        if await self.usable_by(user_id, upload_id) is None:
            return None
        return await asyncio.to_thread(self.store.open, upload_id)

    async def _read_id_card(self, holder: Holder, image: Path, media_type: str) -> IdCardReading:
        try:
            read = await asyncio.wait_for(
                self.engine.read_id_card(image, media_type), OCR_TIMEOUT_SECONDS
            )
        except Exception as exc:
            # Nothing is kept: the citizen tries again rather than holding an unread card.
            raise Unavailable(
                "证件识别暂不可用，请稍后重试 ID card reading is unavailable; try again later",
                reason=f"ocr_engine_failed:{type(exc).__name__}",
            ) from exc
        fields: Mapping[str, object] = read if isinstance(read, Mapping) else {}
        return judge_id_card(fields, holder.id_number, holder.id_number_masked)

    def _record(self, view: UploadView) -> UploadRecord:
        sealed = None
        if view.ocr is not None:
            blob = self.store.cipher.encrypt(orjson.dumps(view.ocr), ocr_context(view.id))
            sealed = base64.b64encode(blob).decode()
        return UploadRecord(**_shared_fields(view), ocr_sealed=sealed)

    def _view(self, record: UploadRecord) -> UploadView:
        ocr = None
        if record.ocr_sealed is not None:
            raw = base64.b64decode(record.ocr_sealed)
            ocr = orjson.loads(self.store.cipher.decrypt(raw, ocr_context(record.id)))
        return UploadView(**_shared_fields(record), ocr=ocr)


def _accepted(holder: Holder, view: UploadView, request_id: str) -> AuditLine:
    """The audit line of an upload kept."""
    return AuditLine(
        actor=holder.id_number_masked,
        action="upload.accept",
        target=f"upload:{view.id}",
        outcome="flagged" if view.flagged else "ok",
        reason=view.flag_reason,
        actor_user_id=holder.user_id,
        subject_user_id=holder.user_id,
        request_id=request_id,
        after={"kind": view.kind, "media_type": view.media_type, "size": view.size},
    )


def _checked_form(kind: str | None, spool: Spool) -> str:
    problems = []
    if kind not in KINDS:
        problems.append({"field": "kind", "problem": "one of " + ", ".join(KINDS)})
    if not spool.received:
        problems.append({"field": "file", "problem": "required"})
    if problems or kind is None:
        raise InvalidRequest(fields=problems)
    return kind


def ocr_context(upload_id: str) -> bytes:
    return f"ocr:{upload_id}".encode()


def _shared_fields(source: UploadView | UploadRecord) -> dict:
    """What a view and its record hold alike: all but the OCR fields, sealed or not."""
    return {
        f.name: getattr(source, f.name)
        for f in dataclasses.fields(UploadRecord)
        if f.name != "ocr_sealed"
    }
