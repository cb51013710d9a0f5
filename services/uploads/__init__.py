"""Uploads: files citizens send with applications (ID-card photos among them), checked,
stripped of metadata, read by OCR when they are ID cards, and kept encrypted.

rules.py    UploadView, the kinds, `can_satisfy` and the ID-card verdict (no I/O)
checks.py   type by bytes, image metadata stripping, PDF checks (pure, CPU-bound)
store.py    the encrypted file store under UPLOADS_DIR, and the spool a request writes to
records.py  the `UploadRecords` port and its tortoise implementation
ocr.py      the `OcrEngine` port, and loading the engine OCR_ENGINE names
service.py  `Uploads`: accept, usable_by, read_file
"""

from services.uploads.ocr import OcrEngine, engine_from_path
from services.uploads.records import TortoiseUploadRecords, UploadRecord, UploadRecords
from services.uploads.rules import (
    FLAG_ID_NUMBER_MISMATCH,
    FLAG_ID_NUMBER_UNREAD,
    ID_CARD,
    ID_CARD_CERTIFICATE_TYPE,
    KINDS,
    UploadView,
    can_satisfy,
)
from services.uploads.service import Uploads
from services.uploads.store import Spool, UploadStore

__all__ = [
    "FLAG_ID_NUMBER_MISMATCH",
    "FLAG_ID_NUMBER_UNREAD",
    "ID_CARD",
    "ID_CARD_CERTIFICATE_TYPE",
    "KINDS",
    "OcrEngine",
    "Spool",
    "TortoiseUploadRecords",
    "UploadRecord",
    "UploadRecords",
    "UploadStore",
    "UploadView",
    "Uploads",
    "can_satisfy",
    "engine_from_path",
]
