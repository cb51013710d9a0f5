"""POST /api/v1/uploads in-process: what a citizen's app sees, what lands on disk, and
what never does."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from core.errors import ConfigError
from server import bootstrap
from server.multipart import FORM_OVERHEAD_BYTES
from services.uploads import can_satisfy
from store.models import AuditEntry
from tests import upload_samples as samples
from tests.auth_helpers import LI, ZHANG, bearer, login
from tests.conftest import logged_with, make_settings

MIB = 1024 * 1024


@pytest.fixture
async def zhang(stack):
    return await login(stack, ZHANG)


def uploads_dir(stack) -> Path:
    return Path(stack.app.ctx.settings.uploads_dir)


def stored_files(stack) -> list[Path]:
    return [p for p in uploads_dir(stack).rglob("*") if p.is_file()]


async def send(
    stack,
    tokens,
    data: bytes,
    kind: str = "photo",
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
):
    return await stack.client.post(
        "/api/v1/uploads",
        files={"file": (filename, data, content_type)},
        data={"kind": kind},
        headers=bearer(tokens),
    )


def assert_refused(response, status: int, code: str, stack) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["request_id"]
    assert stored_files(stack) == [], "nothing is kept of a refused upload"
    return error


async def test_a_png_and_a_jpeg_are_accepted(stack, zhang):
    for data, media_type in ((samples.png(), "image/png"), (samples.jpeg(), "image/jpeg")):
        response = await send(stack, zhang, data, content_type="application/octet-stream")
        assert response.status_code == 201, response.text
        body = response.json()
        assert re.fullmatch(r"[0-9a-f]{32}", body["upload_id"])
        assert body["ocr"] is None and body["media_type"] == media_type
        assert not body["flagged"] and body["kind"] == "photo"
        assert response.headers["cache-control"] == "no-store"
    assert len(stored_files(stack)) == 2


async def test_a_jpeg_with_gps_has_no_exif_once_stored(stack, zhang):
    original = samples.jpeg(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    upload_id = (await send(stack, zhang, original)).json()["upload_id"]
    kept = await stack.app.ctx.container.uploads.read_file(zhang["user"]["id"], upload_id)
    image = Image.open(io.BytesIO(kept))
    assert image.format == "JPEG"
    assert not image.getexif() and not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"Exif" not in kept and b"PhoneCam" not in kept


@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [
        (b"GIF89a" + b"\0" * 200, "id_card.png", "image/png"),
        (b"<html><script>alert(1)</script></html>", "photo.jpg", "image/jpeg"),
        (b"MZ\x90\x00" + b"\0" * 200, "scan.pdf", "application/pdf"),
    ],
    ids=["gif-as-png", "html-as-jpeg", "exe-as-pdf"],
)
async def test_a_file_that_is_not_jpeg_png_or_pdf_is_refused_whatever_it_claims(
    stack, zhang, data, filename, content_type
):
    response = await send(stack, zhang, data, filename=filename, content_type=content_type)
    assert_refused(response, 415, "unsupported_upload_type", stack)


async def test_an_empty_file_is_refused(stack, zhang):
    assert_refused(await send(stack, zhang, b""), 400, "upload_empty", stack)


async def test_a_file_one_byte_over_5_mib_is_refused_and_nothing_is_written(stack, zhang):
    response = await send(stack, zhang, b"\x89PNG\r\n\x1a\n" + bytes(5 * MIB - 7))
    assert_refused(response, 413, "upload_too_large", stack)
    assert list((uploads_dir(stack) / "spool").iterdir()) == []


async def test_a_file_of_exactly_5_mib_is_accepted_though_json_bodies_stop_at_1_mib(stack, zhang):
    data = samples.padded_png(5 * MIB)
    response = await send(stack, zhang, data, filename="big.png", content_type="image/png")
    assert response.status_code == 201, response.text
    assert response.json()["size"] < MIB  # kept without the padding chunk


def _multipart_around(chunks, pulled: list[int], part: bytes = b"file"):
    """A form whose `part` is `chunks`, produced only as the server reads it."""

    async def body():
        yield (
            b'--XyZ\r\nContent-Disposition: form-data; name="kind"\r\n\r\nphoto\r\n'
            b'--XyZ\r\nContent-Disposition: form-data; name="' + part + b'"; filename="a"\r\n'
            b"Content-Type: image/png\r\n\r\n"
        )
        for chunk in chunks:
            pulled.append(len(chunk))
            yield chunk
        yield b"\r\n--XyZ--\r\n"

    return body()


def _six_mib():
    return (b"\x89PNG\r\n\x1a\n" + bytes(64 * 1024 - 8), *(bytes(64 * 1024),) * 95)


@pytest.mark.parametrize("part", [b"file", b"padding"])
async def test_a_body_streamed_without_a_length_is_cut_off_at_the_limit(stack, zhang, part):
    # Chunked, no Content-Length: in the file or in a part nobody reads, it stops at 5 MiB.
    pulled: list[int] = []
    response = await stack.client.post(
        "/api/v1/uploads",
        content=_multipart_around(_six_mib(), pulled, part),
        headers={**bearer(zhang), "content-type": "multipart/form-data; boundary=XyZ"},
    )
    assert_refused(response, 413, "upload_too_large", stack)
    assert sum(pulled) <= 5 * MIB + FORM_OVERHEAD_BYTES + 64 * 1024, "stopped reading early"


async def test_a_client_that_understates_its_length_is_still_cut_off_at_the_limit(stack, zhang):
    pulled: list[int] = []
    response = await stack.client.post(
        "/api/v1/uploads",
        content=_multipart_around(_six_mib(), pulled, b"padding"),
        headers={
            **bearer(zhang),
            "content-type": "multipart/form-data; boundary=XyZ",
            "content-length": "1000",
        },
    )
    assert_refused(response, 413, "upload_too_large", stack)


async def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(stack, zhang):
    pulled: list[int] = []
    response = await stack.client.post(
        "/api/v1/uploads",
        content=_multipart_around(_six_mib(), pulled),
        headers={
            **bearer(zhang),
            "content-type": "multipart/form-data; boundary=XyZ",
            "content-length": str(6 * MIB),
        },
    )
    assert_refused(response, 413, "upload_too_large", stack)
    assert pulled == []


async def test_a_pdf_with_javascript_is_refused(stack, zhang):
    data = samples.pdf_with_open_action()
    response = await send(stack, zhang, data, "document", "form.pdf", "application/pdf")
    assert_refused(response, 422, "unsafe_document", stack)


async def test_an_encrypted_pdf_is_refused(stack, zhang):
    data = samples.pdf(encrypted=True)
    response = await send(stack, zhang, data, "document", "form.pdf", "application/pdf")
    assert_refused(response, 422, "unsafe_document", stack)


async def test_a_clean_pdf_is_accepted(stack, zhang):
    response = await send(stack, zhang, samples.pdf(), "document", "f.pdf", "application/pdf")
    assert response.status_code == 201, response.text
    assert response.json()["media_type"] == "application/pdf"


async def test_an_id_card_with_the_callers_number_shows_its_fields_and_is_usable(stack, zhang):
    card = samples.id_card_png(ZHANG[0], "张三", address="浙江省嘉兴市南湖区")
    response = await send(stack, zhang, card, "id_card", "card.png", "image/png")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["ocr"] == {
        "name": "张三",
        "address": "浙江省嘉兴市南湖区",
        "id_number_masked": "3304**********1230",
    }
    assert not body["flagged"] and ZHANG[0] not in response.text
    view = await stack.app.ctx.container.uploads.usable_by(zhang["user"]["id"], body["upload_id"])
    assert view is not None and not view.flagged
    assert can_satisfy(view, "certificate", "111")


async def test_an_id_card_with_someone_elses_number_is_flagged(stack, zhang):
    card = samples.id_card_png(LI[0], "李四")
    response = await send(stack, zhang, card, "id_card", "card.png", "image/png")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["flagged"] and body["flag_reason"] == "id_number_mismatch"
    assert LI[0] not in response.text and "id_number_masked" not in body["ocr"]
    view = await stack.app.ctx.container.uploads.usable_by(zhang["user"]["id"], body["upload_id"])
    assert view is not None and view.flagged and view.flag_reason == "id_number_mismatch"
    assert not can_satisfy(view, "certificate", "111")


async def test_another_users_upload_is_not_usable(stack, zhang):
    upload_id = (await send(stack, zhang, samples.png())).json()["upload_id"]
    li = await login(stack, LI)
    uploads = stack.app.ctx.container.uploads
    assert await uploads.usable_by(li["user"]["id"], upload_id) is None
    assert await uploads.read_file(li["user"]["id"], upload_id) is None
    assert await uploads.usable_by(zhang["user"]["id"], upload_id) is not None


async def test_the_stored_file_is_not_the_plaintext(stack, zhang):
    card = samples.id_card_png(ZHANG[0], "张三")
    await send(stack, zhang, card, "id_card", "card.png", "image/png")
    (stored,) = stored_files(stack)
    data = stored.read_bytes()
    assert data[:3] == b"LPB" and b"\x89PNG" not in data and b"IHDR" not in data
    assert ZHANG[0].encode() not in data and "张三".encode() not in data
    assert "card" not in stored.name


async def test_no_full_id_number_reaches_the_logs_or_the_audit(stack, zhang, log_output):
    for number, name in (ZHANG, LI):
        card = samples.id_card_png(number, name)
        await send(stack, zhang, card, "id_card", f"{number}.png", "image/png")
    await send(stack, zhang, samples.png(), "selfie")  # a refusal is logged too
    logged = await logged_with(log_output, "api/v1/uploads")
    assert "upload" in logged
    entries = await AuditEntry.filter(action="upload.accept").values()
    assert len(entries) == 2
    for number, _ in (ZHANG, LI):
        assert number not in logged
        assert all(number not in str(entry) for entry in entries)


async def test_an_unknown_kind_is_refused_naming_the_field(stack, zhang):
    error = assert_refused(
        await send(stack, zhang, samples.png(), "selfie"), 400, "invalid_request", stack
    )
    assert error["fields"] == [
        {"field": "kind", "problem": "one of id_card, photo, document, other"}
    ]


async def test_a_form_without_a_file_is_refused_naming_the_field(stack, zhang):
    response = await stack.client.post(
        "/api/v1/uploads", files={"kind": (None, "photo")}, headers=bearer(zhang)
    )
    error = assert_refused(response, 400, "invalid_request", stack)
    assert error["fields"] == [{"field": "file", "problem": "required"}]


async def test_two_files_in_one_upload_are_refused(stack, zhang):
    response = await stack.client.post(
        "/api/v1/uploads",
        files=[
            ("file", ("a.png", samples.png(), "image/png")),
            ("file", ("b.png", samples.png(), "image/png")),
        ],
        data={"kind": "photo"},
        headers=bearer(zhang),
    )
    error = assert_refused(response, 400, "invalid_request", stack)
    assert error["fields"] == [{"field": "file", "problem": "only one file per upload"}]


async def test_a_form_cut_short_is_refused(stack, zhang):
    whole = (
        b'--XyZ\r\nContent-Disposition: form-data; name="kind"\r\n\r\nphoto\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
        + samples.png()
    )
    response = await stack.client.post(
        "/api/v1/uploads",
        content=whole,
        headers={**bearer(zhang), "content-type": "multipart/form-data; boundary=XyZ"},
    )
    assert_refused(response, 400, "invalid_request", stack)


async def test_a_body_that_is_not_multipart_is_refused(stack, zhang):
    response = await stack.client.post(
        "/api/v1/uploads", json={"file": "aGVsbG8="}, headers=bearer(zhang)
    )
    assert_refused(response, 415, "unsupported_media_type", stack)


async def test_uploading_needs_a_login(stack):
    response = await stack.client.post(
        "/api/v1/uploads", files={"file": ("a.png", samples.png(), "image/png")}
    )
    assert_refused(response, 401, "invalid_token", stack)


async def test_an_ocr_engine_that_does_not_load_stops_each_worker_from_starting(tmp_path):
    # What every worker runs in before_server_start (`serve` itself refuses even earlier).
    settings = make_settings(tmp_path, ocr_engine="ocr_stubs.stub:NoSuchEngine")
    with pytest.raises(ConfigError, match="OCR_ENGINE 'ocr_stubs.stub:NoSuchEngine'"):
        await bootstrap.build(settings)
