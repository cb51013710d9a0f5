"""What an upload is to the domain and what it may stand in for. No I/O here.

An `id_card` upload is read by OCR; the ID number read must be the caller's, or the upload
is flagged and stands in for nothing. Only the caller's own number is ever kept or shown,
and then masked; someone else's number read off a card is dropped at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

ID_CARD, PHOTO, DOCUMENT, OTHER = "id_card", "photo", "document", "other"
KINDS = (ID_CARD, PHOTO, DOCUMENT, OTHER)

# 居民身份证 in the provincial certificate library.
ID_CARD_CERTIFICATE_TYPE = "111"

SOURCE_UPLOAD, SOURCE_CERTIFICATE = "upload", "certificate"

# flag_reason values: codes, never the numbers themselves.
FLAG_ID_NUMBER_UNREAD = "id_number_unread"
FLAG_ID_NUMBER_MISMATCH = "id_number_mismatch"

# What an engine may hand back is bounded before anything is kept of it.
MAX_OCR_FIELDS, MAX_OCR_KEY, MAX_OCR_VALUE = 20, 32, 200
# A resident ID number anywhere but under `id_number` (a "remarks" field, a name key the
# engine spelled its own way) would slip past the masking: such a field is dropped.
_ID_NUMBER_INSIDE = re.compile(r"[1-9]\d{16}[\dXx]")


@dataclass(frozen=True)
class UploadView:
    id: str
    user_id: str
    kind: str
    media_type: str
    size: int
    flagged: bool
    flag_reason: str
    # OCR fields of an id_card upload, the ID number only as `id_number_masked` and only
    # when it is the caller's; None for other kinds.
    ocr: dict[str, str] | None
    created_at: datetime


@dataclass(frozen=True)
class IdCardReading:
    flagged: bool
    flag_reason: str
    fields: dict[str, str]


def can_satisfy(
    upload: UploadView, material_source: str, certificate_type: str | None = None
) -> bool:
    """Whether this upload (already known to be the caller's) may stand in for a material.

    Any unflagged upload satisfies an `upload` material; an unflagged `id_card` upload also
    satisfies a `certificate` material of type 111 (居民身份证). A flagged upload (an ID card
    that is not the caller's, or could not be read) satisfies nothing, so it cannot be
    passed off as an ordinary upload either.
    """
    if upload.flagged:
        return False
    if material_source == SOURCE_UPLOAD:
        return True
    return (
        material_source == SOURCE_CERTIFICATE
        and certificate_type == ID_CARD_CERTIFICATE_TYPE
        and upload.kind == ID_CARD
    )


def judge_id_card(
    read: Mapping[str, object], caller_id_number: str, caller_masked: str
) -> IdCardReading:
    """The verdict on an ID card read by OCR, and the fields that may be kept and shown."""
    fields = _bounded(read)
    number = _compact(fields.pop("id_number", ""))
    if not number:
        return IdCardReading(True, FLAG_ID_NUMBER_UNREAD, fields)
    if number != _compact(caller_id_number):
        return IdCardReading(True, FLAG_ID_NUMBER_MISMATCH, fields)
    return IdCardReading(False, "", {**fields, "id_number_masked": caller_masked})


def _compact(value: str) -> str:
    return "".join(value.split()).upper()


def _bounded(read: Mapping[str, object]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for key, value in read.items():
        if len(kept) >= MAX_OCR_FIELDS:
            break
        if not (isinstance(key, str) and isinstance(value, str) and 0 < len(key) <= MAX_OCR_KEY):
            continue
        if key != "id_number" and _ID_NUMBER_INSIDE.search(_compact(value)):
            continue
        kept[key] = value[:MAX_OCR_VALUE]
    # A masked form from the engine is dropped too: only ours is shown.
    kept.pop("id_number_masked", None)
    return kept
