"""The Uploads service on fakes (records, OCR, identities, audit) and a real folder: what is
kept, what is flagged, who may use it, and that a refusal leaves nothing behind."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import pytest

from core.crypto import BlobCipher
from core.errors import (
    InvalidRequest,
    Unavailable,
    UnsafeDocument,
    UnsupportedUploadType,
    UploadEmpty,
    UploadTooLarge,
)
from services.holders import Holders
from services.uploads import (
    FLAG_ID_NUMBER_MISMATCH,
    FLAG_ID_NUMBER_UNREAD,
    Uploads,
    UploadStore,
    can_satisfy,
)
from tests import upload_samples as samples
from tests.fakes import FakeAudit, FakeClock, FakeIdentities, FakeOcrEngine, FakeUploadRecords

ZHANG, LI = "330402199001011230", "330411198506152348"


class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.identities = FakeIdentities()
        self.identities.add("user-zhang", ZHANG)
        self.identities.add("user-li", LI)
        self.audit = FakeAudit()
        self.records = FakeUploadRecords(self.audit)
        self.engine = FakeOcrEngine()
        self.store = UploadStore(root, BlobCipher(os.urandom(32)))
        self.uploads = Uploads(
            self.store,
            self.records,
            Holders(self.identities),
            self.engine,
            max_bytes=64 * 1024,
            clock=FakeClock(1_750_000_000),
        )

    async def send(self, data: bytes | None, kind: str | None = "photo", user="user-zhang"):
        with self.uploads.spool() as spool:
            if data is not None:
                spool.begin()
                for start in range(0, len(data), 1000):
                    spool.write(data[start : start + 1000])
            return await self.uploads.accept(user, kind, spool, "req-1")

    def files(self) -> list[Path]:
        return [p for p in self.root.rglob("*") if p.is_file()]


@pytest.fixture
def world(tmp_path):
    return World(tmp_path / "uploads")


async def test_an_id_card_with_the_callers_number_is_kept_unflagged_and_masked(world):
    world.engine.fields = {"name": "张三", "id_number": ZHANG}
    view = await world.send(samples.png(), "id_card")
    assert not view.flagged
    assert view.ocr == {"name": "张三", "id_number_masked": "3304**********1230"}
    assert world.engine.calls[0][1] == "image/png"
    assert await world.uploads.usable_by("user-zhang", view.id) == view
    assert can_satisfy(view, "certificate", "111")


async def test_an_id_card_with_someone_elses_number_is_flagged_and_stays_so(world):
    world.engine.fields = {"name": "李四", "id_number": LI}
    view = await world.send(samples.png(), "id_card")
    assert view.flagged and view.flag_reason == FLAG_ID_NUMBER_MISMATCH
    kept = await world.uploads.usable_by("user-zhang", view.id)
    assert kept is not None and kept.flagged and kept.ocr == {"name": "李四"}
    assert not can_satisfy(kept, "certificate", "111")
    assert world.audit.actions() == [("upload.accept", "flagged")]
    assert world.audit.calls[0]["actor"] == "3304**********1230"


async def test_an_id_card_the_engine_cannot_read_is_flagged(world):
    view = await world.send(samples.png(), "id_card")
    assert view.flagged and view.flag_reason == FLAG_ID_NUMBER_UNREAD


async def test_other_kinds_are_not_read_by_ocr(world):
    view = await world.send(samples.jpeg(), "document")
    assert view.ocr is None and not view.flagged
    assert world.engine.calls == []


async def test_the_ocr_fields_are_stored_sealed(world):
    world.engine.fields = {"name": "张三", "id_number": ZHANG, "address": "嘉兴市南湖区"}
    view = await world.send(samples.png(), "id_card")
    sealed = world.records.rows[view.id].ocr_sealed
    assert sealed is not None
    raw = base64.b64decode(sealed)
    for secret in ("张三", "嘉兴", ZHANG, "1230"):
        assert secret.encode() not in raw


@pytest.mark.parametrize(
    ("data", "kind", "error"),
    [
        (b"", "photo", UploadEmpty),
        (b"GIF89a" + b"\0" * 100, "photo", UnsupportedUploadType),
        (samples.pdf(encrypted=True), "document", UnsafeDocument),
        (samples.pdf_with_open_action(), "document", UnsafeDocument),
        (samples.png(), "selfie", InvalidRequest),
        (samples.png(), None, InvalidRequest),
        (None, "photo", InvalidRequest),
    ],
    ids=["empty", "gif", "encrypted-pdf", "script-pdf", "bad-kind", "no-kind", "no-file"],
)
async def test_a_refused_upload_leaves_no_file_and_no_record(world, data, kind, error):
    with pytest.raises(error):
        await world.send(data, kind)
    assert world.files() == []
    assert world.records.rows == {} and world.audit.calls == []


async def test_a_file_over_the_limit_is_refused_while_it_arrives(world):
    with pytest.raises(UploadTooLarge):
        await world.send(b"\x89PNG" + b"\0" * (64 * 1024))
    assert world.files() == []


async def test_a_failing_ocr_engine_means_try_again_and_nothing_kept(world):
    world.engine.failure = RuntimeError("engine down")
    with pytest.raises(Unavailable):
        await world.send(samples.png(), "id_card")
    assert world.files() == [] and world.records.rows == {}


async def test_an_upload_whose_record_cannot_be_written_takes_its_file_with_it(world):
    world.records.failure = ConnectionError("database gone")
    with pytest.raises(ConnectionError):
        await world.send(samples.png())
    assert world.files() == []


async def test_only_the_owner_can_use_an_upload(world):
    view = await world.send(samples.png())
    assert await world.uploads.usable_by("user-li", view.id) is None
    assert await world.uploads.read_file("user-li", view.id) is None
    assert await world.uploads.usable_by("user-zhang", "f" * 32) is None


async def test_an_id_that_could_be_a_path_is_not_even_looked_up(world):
    assert await world.uploads.usable_by("user-zhang", "../../etc/passwd") is None
    assert await world.uploads.usable_by("user-zhang", "a" * 32 + "\n") is None
    assert world.records.calls == []


async def test_the_owner_reads_back_the_stripped_file_and_the_disk_holds_only_ciphertext(world):
    view = await world.send(samples.jpeg(gps=True))
    kept = await world.uploads.read_file("user-zhang", view.id)
    assert kept is not None and kept.startswith(b"\xff\xd8") and b"Exif" not in kept
    (stored,) = world.files()
    assert stored.name == f"{view.id}.lpb" and stored.read_bytes()[:3] == b"LPB"
    assert oct(stored.stat().st_mode & 0o777) == "0o600"


async def test_leftover_spool_files_are_purged_only_when_old(world):
    spool = world.root / "spool"
    spool.mkdir(parents=True)
    old, fresh = spool / "old.part", spool / "fresh.part"
    old.write_bytes(b"plaintext")
    fresh.write_bytes(b"plaintext")
    an_hour_and_more = time.time() - 3700
    os.utime(old, (an_hour_and_more, an_hour_and_more))
    assert world.store.purge_stale_spools() == 1
    assert not old.exists() and fresh.exists()
