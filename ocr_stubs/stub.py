"""A deterministic stand-in for an ID-card OCR engine, for development and tests.

It reads nothing off the pixels: a test image carries the fields it "shows" as JSON in a
PNG text chunk (tEXt, zTXt or iTXt) named `lingpao-ocr`, e.g.

    {"name": "张三", "id_number": "330402199001011230", "address": "浙江省嘉兴市…"}

A PNG without that chunk, a JPEG, a PDF or anything unreadable gives no fields, every time.
Because a file can claim any number this way, production refuses this engine.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from PIL import Image, PngImagePlugin

CHUNK = "lingpao-ocr"


class StubOcrEngine:
    async def read_id_card(self, image: Path, media_type: str) -> dict[str, str]:
        if media_type != "image/png":
            return {}
        return await asyncio.to_thread(read_chunk, image)


def read_chunk(image: Path) -> dict[str, str]:
    try:
        with Image.open(image, formats=["PNG"]) as png:
            assert isinstance(png, PngImagePlugin.PngImageFile)
            # `text` also finds chunks after the image data (it decodes the image to get there).
            raw = png.text.get(CHUNK)
            fields = json.loads(raw) if isinstance(raw, str) else None
    except (OSError, ValueError, SyntaxError):
        return {}
    if not isinstance(fields, dict):
        return {}
    return {k: v for k, v in fields.items() if isinstance(k, str) and isinstance(v, str)}
