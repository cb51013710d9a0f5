"""What an upload may stand in for, and the verdict on an ID card read by OCR."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.uploads import UploadView, can_satisfy
from services.uploads.rules import (
    FLAG_ID_NUMBER_MISMATCH,
    FLAG_ID_NUMBER_UNREAD,
    MAX_OCR_FIELDS,
    MAX_OCR_VALUE,
    judge_id_card,
)

ZHANG, ZHANG_MASKED = "330402199001011230", "3304**********1230"
LI = "330411198506152348"

CARD = UploadView(
    id="a" * 32,
    user_id="user-1",
    kind="id_card",
    media_type="image/png",
    size=100,
    flagged=False,
    flag_reason="",
    ocr={"name": "张三", "id_number_masked": ZHANG_MASKED},
    created_at=datetime(2025, 1, 1, tzinfo=UTC),
)
PHOTO = replace(CARD, kind="photo", ocr=None)
FLAGGED_CARD = replace(CARD, flagged=True, flag_reason=FLAG_ID_NUMBER_MISMATCH)


@pytest.mark.parametrize(
    ("upload", "source", "certificate_type", "expected"),
    [
        (CARD, "certificate", "111", True),
        (CARD, "upload", None, True),
        (PHOTO, "upload", None, True),
        (PHOTO, "certificate", "111", False),
        (CARD, "certificate", "112", False),
        (CARD, "certificate", None, False),
        (CARD, "paper", None, False),
        (FLAGGED_CARD, "certificate", "111", False),
        (FLAGGED_CARD, "upload", None, False),
    ],
    ids=[
        "id-card-for-the-id-card",
        "id-card-as-an-upload",
        "photo-as-an-upload",
        "photo-not-for-the-id-card",
        "id-card-not-for-the-household-register",
        "id-card-not-for-an-untyped-certificate",
        "nothing-stands-in-for-paper",
        "flagged-card-not-for-the-id-card",
        "flagged-card-not-even-as-an-upload",
    ],
)
def test_what_an_upload_can_stand_in_for(upload, source, certificate_type, expected):
    assert can_satisfy(upload, source, certificate_type) is expected


def test_a_card_with_the_callers_number_passes_and_shows_it_masked_only():
    reading = judge_id_card(
        {"name": "张三", "id_number": " 3304 0219 9001 0112 30 "}, ZHANG, ZHANG_MASKED
    )
    assert not reading.flagged and reading.flag_reason == ""
    assert reading.fields == {"name": "张三", "id_number_masked": ZHANG_MASKED}


def test_a_lowercase_check_letter_still_matches():
    reading = judge_id_card({"id_number": "11010519491231002x"}, "11010519491231002X", "m")
    assert not reading.flagged


def test_a_card_with_someone_elses_number_is_flagged_and_their_number_is_not_kept():
    reading = judge_id_card({"name": "李四", "id_number": LI}, ZHANG, ZHANG_MASKED)
    assert reading.flagged and reading.flag_reason == FLAG_ID_NUMBER_MISMATCH
    assert reading.fields == {"name": "李四"}
    assert LI[-4:] not in str(reading.fields)


def test_a_card_whose_number_could_not_be_read_is_flagged():
    reading = judge_id_card({"name": "张三"}, ZHANG, ZHANG_MASKED)
    assert reading.flagged and reading.flag_reason == FLAG_ID_NUMBER_UNREAD


def test_an_id_number_under_another_field_is_dropped_and_an_engines_own_mask_ignored():
    reading = judge_id_card(
        {
            "id_number": ZHANG,
            "remarks": f"公民身份号码 {LI}",
            "id_number_masked": "330411********2348",
        },
        ZHANG,
        ZHANG_MASKED,
    )
    assert reading.fields == {"id_number_masked": ZHANG_MASKED}


def test_what_an_engine_hands_back_is_bounded_to_short_strings():
    read: dict[str, object] = {f"f{i}": "x" * 1000 for i in range(50)}
    read.update({"age": 35, "nested": {"a": "b"}})
    reading = judge_id_card(read, ZHANG, ZHANG_MASKED)
    assert len(reading.fields) == MAX_OCR_FIELDS
    assert all(len(v) == MAX_OCR_VALUE for v in reading.fields.values())
