"""The checks every uploaded file passes before it is kept. Pure: paths in, verdicts out.

1. Its type comes from its bytes (filetype's signature table), never from its name or
   the type the client declared; only JPEG, PNG and PDF go on.
2. The parser for that one type must then read it whole (Pillow restricted to that
   format, or pypdf), so a file that merely starts like a PNG goes no further.
3. An image is decoded and written anew without any metadata (EXIF and its GPS block,
   XMP, comments, text chunks, ICC), turned upright first as its EXIF orientation said,
   so dropping the tag does not turn the photo on its side.
4. A PDF that is encrypted, or carries JavaScript (document-level scripts, actions on
   open, on pages, annotations or form fields), launch actions or an XFA form, is refused.
   Every object reachable from the trailer is walked, so scripts inside compressed object
   streams or behind #-escaped names are seen as a viewer would see them.

The functions are synchronous and CPU-bound: the service runs them in a worker thread.
"""

from __future__ import annotations

import struct
from pathlib import Path

import filetype
from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

from core.errors import UnsafeDocument, UnsupportedUploadType, UploadTooLarge

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
MEDIA_TYPES = (JPEG, PNG, PDF)
# An animated PNG is a PNG whose first frame is the picture; it is kept as that frame.
_SNIFFED = {"image/jpeg": JPEG, "image/png": PNG, "image/apng": PNG, "application/pdf": PDF}
_PILLOW_FORMAT = {JPEG: "JPEG", PNG: "PNG"}
# A 5 MiB PNG can unpack to gigabytes; an ID card or a document photo needs far fewer.
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 92
# Refuse rather than walk forever: no honest 5 MiB form has this many objects.
MAX_PDF_OBJECTS = 200_000
_IMAGE_UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, struct.error)
_PDF_UNREADABLE = (PdfReadError, OSError, ValueError, KeyError, TypeError, RecursionError)
_ACTIVE_KEYS = {"/JS": "pdf_javascript", "/JavaScript": "pdf_javascript", "/XFA": "pdf_xfa"}
_ACTIVE_ACTIONS = {"/JavaScript": "pdf_javascript", "/Launch": "pdf_launch_action"}


def sniff(path: Path) -> str:
    """The media type the file's bytes say, when it is one we take."""
    found = filetype.guess(str(path))
    media_type = _SNIFFED.get(found.mime) if found is not None else None
    if media_type is None:
        raise UnsupportedUploadType(reason=f"sniffed:{found.mime if found else 'unknown'}")
    return media_type


def prepare(received: Path, scratch: Path) -> tuple[str, Path]:
    """Checks the received file; returns its media type and the file to keep: the
    received PDF itself, or the image rewritten without metadata into `scratch`."""
    media_type = sniff(received)
    if media_type == PDF:
        check_pdf(received)
        return media_type, received
    clean_image(received, scratch, media_type)
    return media_type, scratch


def clean_image(source: Path, target: Path, media_type: str) -> None:
    pillow_format = _PILLOW_FORMAT[media_type]
    try:
        with Image.open(source, formats=[pillow_format]) as image:
            if image.width * image.height > MAX_PIXELS:
                raise UploadTooLarge("图片像素过多 The image has too many pixels", reason="pixels")
            upright = ImageOps.exif_transpose(image)
            _save_bare(upright, target, pillow_format)
    except Image.DecompressionBombError as exc:
        raise UploadTooLarge("图片像素过多 The image has too many pixels", reason="pixels") from exc
    except _IMAGE_UNREADABLE as exc:
        raise UnsupportedUploadType(reason=f"image_unreadable:{type(exc).__name__}") from exc


def _save_bare(image: Image.Image, target: Path, pillow_format: str) -> None:
    # Transparency is part of the picture; everything else in `info` is metadata.
    image.info = {k: v for k, v in image.info.items() if k == "transparency"}
    options: dict[str, object] = {"quality": JPEG_QUALITY} if pillow_format == "JPEG" else {}
    image.save(target, pillow_format, exif=b"", **options)


def check_pdf(path: Path) -> None:
    try:
        with path.open("rb") as fh:
            # An open file, not the path: pypdf then reads objects as it needs them instead
            # of loading the whole file first.
            reader = PdfReader(fh)
            if reader.is_encrypted:
                raise UnsafeDocument(reason="pdf_encrypted")
            if len(reader.pages) == 0:
                raise UnsupportedUploadType(reason="pdf_without_pages")
            problem = active_content(reader.trailer)
    except _PDF_UNREADABLE as exc:
        raise UnsupportedUploadType(reason=f"pdf_unreadable:{type(exc).__name__}") from exc
    if problem:
        raise UnsafeDocument(reason=problem)


def active_content(root: PdfObject) -> str:
    """The first kind of active content reachable from `root`, or ""."""
    seen: set[tuple[int, int]] = set()
    stack: list[object] = [root]
    visited = 0
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            if (node.idnum, node.generation) in seen:
                continue
            seen.add((node.idnum, node.generation))
            node = node.get_object()
        visited += 1
        if visited > MAX_PDF_OBJECTS:
            return "pdf_too_many_objects"
        if isinstance(node, DictionaryObject):
            # dict's own views: DictionaryObject's lookups would resolve references and
            # lose the identity the `seen` set needs against cycles (/Parent, /Prev).
            for key, value in dict.items(node):
                problem = _active_entry(key, value)
                if problem:
                    return problem
                stack.append(value)
        elif isinstance(node, ArrayObject):
            stack.extend(list.__iter__(node))
    return ""


def _active_entry(key: object, value: object) -> str:
    if key in _ACTIVE_KEYS:
        return _ACTIVE_KEYS[str(key)]
    if key == "/S":
        action = value.get_object() if isinstance(value, IndirectObject) else value
        return _ACTIVE_ACTIONS.get(str(action), "")
    return ""
