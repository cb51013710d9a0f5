"""Files to upload, made here with Pillow and pypdf (or by hand where a library would not
write something that bad): images with and without metadata, ID-card images carrying the
stub engine's OCR chunk, clean and unsafe PDFs."""

from __future__ import annotations

import io
import json
import os
import struct
import zlib

from PIL import ExifTags, Image, PngImagePlugin
from pypdf import PdfWriter

from ocr_stubs.stub import CHUNK

GPS = {1: "N", 2: (30.0, 45.0, 12.5), 3: "E", 4: (120.0, 45.0, 6.0)}


def png(size=(64, 48), color="teal", *, text: dict[str, str] | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def id_card_png(id_number: str, name: str = "张三", **more: str) -> bytes:
    """A PNG the stub engine reads as an ID card showing these fields."""
    fields = {"name": name, "id_number": id_number, **more}
    return png((86, 54), "white", text={CHUNK: json.dumps(fields, ensure_ascii=False)})


def jpeg(size=(64, 48), color="navy", *, gps: bool = False, orientation: int | None = None):
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCam"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


def noise_png(width: int, height: int) -> bytes:
    """A PNG that does not compress: about width × height × 3 bytes."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(
        buffer, "PNG", compress_level=0
    )
    return buffer.getvalue()


def padded_png(total: int) -> bytes:
    """A valid PNG of exactly `total` bytes: a private ancillary chunk fills the room."""
    base = png()
    room = total - len(base) - 12  # length, type and CRC of the filler chunk
    assert room >= 0
    body = b"\0" * room
    filler = (
        struct.pack(">I", room) + b"ruBe" + body + struct.pack(">I", zlib.crc32(b"ruBe" + body))
    )
    iend = base.rindex(b"IEND") - 4
    data = base[:iend] + filler + base[iend:]
    assert len(data) == total
    return data


def pdf(*, encrypted: bool = False) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if encrypted:
        writer.encrypt(user_password="", owner_password="owner-secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def raw_pdf(*objects: bytes) -> bytes:
    """A PDF written by hand from the bodies of objects 1.. (1 is the catalog), with a
    correct cross-reference table, so a test can put anything anywhere."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"


SCRIPT_ACTION = b"<< /Type /Action /S /JavaScript /JS (app.alert\\('hi'\\);) >>"
# The same action with its names spelled in #-escapes, as a viewer still reads them.
ESCAPED_SCRIPT_ACTION = b"<< /S /J#61vaScr#69pt /J#53 (app.alert\\(1\\);) >>"
LAUNCH_ACTION = b"<< /S /Launch /F (cmd.exe) >>"


def pdf_with_open_action(action: bytes = SCRIPT_ACTION) -> bytes:
    """A one-page PDF that runs `action` when opened."""
    return raw_pdf(b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", PAGES, PAGE, action)


def pdf_with_document_script() -> bytes:
    """A script in the document-level JavaScript name tree."""
    return raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 4 0 R >> >>",
        PAGES,
        PAGE,
        b"<< /Names [(init) 5 0 R] >>",
        b"<< /S /JavaScript /JS (this.print\\(\\);) >>",
    )


def pdf_with_page_link_script() -> bytes:
    """A script on a link annotation of the page, not reachable from the catalog directly."""
    return raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        PAGES,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Annots [4 0 R] >>",
        b"<< /Type /Annot /Subtype /Link /Rect [0 0 50 50] /A << /S /JavaScript /JS 5 0 R >> >>",
        b"<< /Length 12 >>\nstream\napp.alert(1)\nendstream",
    )


def clean_raw_pdf() -> bytes:
    return raw_pdf(b"<< /Type /Catalog /Pages 2 0 R >>", PAGES, PAGE)
