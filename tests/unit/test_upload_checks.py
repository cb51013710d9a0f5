"""The checks a file passes before it is kept: its type by its bytes, images stripped of
their metadata, PDFs with scripts or encryption refused."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from core.errors import UnsafeDocument, UnsupportedUploadType, UploadTooLarge
from services.uploads import checks
from services.uploads.checks import JPEG, PDF, PNG
from tests import upload_samples as samples


@pytest.fixture
def put(tmp_path):
    def put(data: bytes, name: str = "upload") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return put


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "hello")
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["photo.exe", "scan.pdf", "card.jpg", "noextension"])
@pytest.mark.parametrize(
    ("make", "expected"),
    [(samples.png, PNG), (samples.jpeg, JPEG), (samples.pdf, PDF)],
)
def test_jpeg_png_and_pdf_are_recognised_by_their_bytes_whatever_the_name(
    put, tmp_path, make, expected, name
):
    media_type, _ = checks.prepare(put(make(), name), tmp_path / "clean")
    assert media_type == expected


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a" + b"\0" * 64,
        b"<html><script>alert(1)</script></html>",
        b"plain text that claims to be a photo",
        _zip(),
        b"",
    ],
    ids=["gif", "html", "text", "zip", "nothing"],
)
def test_other_files_are_refused_even_when_named_like_a_photo(put, tmp_path, data):
    with pytest.raises(UnsupportedUploadType):
        checks.prepare(put(data, "id_card.png"), tmp_path / "clean")


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"not really a png" * 20,
        b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20,
        b"%PDF-1.7\n" + b"not really a pdf\n" * 20,
        samples.jpeg()[:200],
    ],
    ids=["png-signature-only", "jpeg-signature-only", "pdf-signature-only", "truncated-jpeg"],
)
def test_a_file_that_only_starts_like_an_accepted_type_is_refused(put, tmp_path, data):
    with pytest.raises(UnsupportedUploadType):
        checks.prepare(put(data), tmp_path / "clean")


def test_a_jpeg_loses_its_exif_and_gps_when_cleaned(put, tmp_path):
    source = put(samples.jpeg(gps=True))
    with Image.open(source) as original:
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    _, kept = checks.prepare(source, tmp_path / "clean")
    with Image.open(kept) as cleaned:
        assert not cleaned.getexif()
        assert not cleaned.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert "exif" not in cleaned.info
    assert b"Exif" not in kept.read_bytes() and b"PhoneCam" not in kept.read_bytes()


def test_a_png_loses_its_text_chunks_when_cleaned(put, tmp_path):
    source = put(samples.png(text={"Author": "张三", "GPS": "30.75,120.75"}))
    _, kept = checks.prepare(source, tmp_path / "clean")
    with Image.open(kept) as cleaned:
        assert isinstance(cleaned, PngImagePlugin.PngImageFile) and cleaned.text == {}
    assert b"30.75" not in kept.read_bytes()


def test_a_sideways_phone_photo_is_turned_upright_before_its_orientation_is_dropped(put, tmp_path):
    # Orientation 6: the camera stored it rotated; viewers turn it 90° to show it.
    _, kept = checks.prepare(put(samples.jpeg((64, 48), orientation=6)), tmp_path / "clean")
    with Image.open(kept) as cleaned:
        assert cleaned.size == (48, 64)
        assert ExifTags.Base.Orientation not in cleaned.getexif()


def test_a_png_claiming_too_many_pixels_is_refused_before_it_is_decoded(put, tmp_path):
    data = bytearray(samples.png())
    # IHDR starts at byte 8: length, "IHDR", width, height, ...; its CRC follows 13 bytes.
    data[16:24] = struct.pack(">II", 20_000, 20_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    with pytest.raises(UploadTooLarge):
        checks.prepare(put(bytes(data)), tmp_path / "clean")


def test_a_clean_pdf_is_kept_as_it_came(put, tmp_path):
    source = put(samples.clean_raw_pdf())
    assert checks.prepare(source, tmp_path / "clean") == (PDF, source)


@pytest.mark.parametrize(
    "data",
    [
        samples.pdf_with_open_action(),
        samples.pdf_with_open_action(samples.ESCAPED_SCRIPT_ACTION),
        samples.pdf_with_document_script(),
        samples.pdf_with_page_link_script(),
    ],
    ids=["open-action", "escaped-names", "document-level", "link-on-a-page"],
)
def test_a_pdf_with_javascript_is_refused_wherever_the_script_hides(put, tmp_path, data):
    with pytest.raises(UnsafeDocument) as refused:
        checks.prepare(put(data), tmp_path / "clean")
    assert refused.value.reason == "pdf_javascript"


def test_a_pdf_that_launches_a_program_is_refused(put, tmp_path):
    with pytest.raises(UnsafeDocument) as refused:
        checks.prepare(put(samples.pdf_with_open_action(samples.LAUNCH_ACTION)), tmp_path / "c")
    assert refused.value.reason == "pdf_launch_action"


def test_an_encrypted_pdf_is_refused(put, tmp_path):
    with pytest.raises(UnsafeDocument) as refused:
        checks.prepare(put(samples.pdf(encrypted=True)), tmp_path / "clean")
    assert refused.value.reason == "pdf_encrypted"


def test_a_pdf_whose_page_text_mentions_javascript_is_not_mistaken_for_a_script(put, tmp_path):
    text = b"BT /F1 12 Tf 10 10 Td (/JavaScript /JS are words here) Tj ET"
    data = samples.raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        samples.PAGES,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
    )
    assert checks.prepare(put(data), tmp_path / "clean")[0] == PDF
