"""The OCR port: what the uploads service asks of an engine that reads ID cards.

The engine is named by the `OCR_ENGINE` setting as an import path, `package.module:Name`,
where `Name` is a class or a factory called with no arguments; a real engine plugs in by
changing that setting alone. `ocr_stubs.stub:StubOcrEngine` is the deterministic stand-in
for development and tests.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Protocol

from core.errors import ConfigError

_IMPORT_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


class OcrEngine(Protocol):
    async def read_id_card(self, image: Path, media_type: str) -> dict[str, str]:
        """The fields read off the front of a resident ID card: `name`, `id_number` and
        whatever else it reads (`sex`, `ethnicity`, `birth_date`, `address`…), all strings.

        `image` is the file as the citizen sent it (type already checked: JPEG, PNG or
        PDF), a private temporary file the engine must neither keep nor log. An empty dict
        means nothing could be read; an exception means the engine failed.
        """
        ...


def is_import_path(value: str) -> bool:
    return bool(_IMPORT_PATH.fullmatch(value))


def engine_from_path(import_path: str) -> OcrEngine:
    """The engine named by `OCR_ENGINE`; a ConfigError naming the problem otherwise."""
    if not is_import_path(import_path):
        raise ConfigError(f"OCR_ENGINE {import_path!r} is not an import path like 'pkg.mod:Name'")
    module_name, _, name = import_path.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"OCR_ENGINE {import_path!r} cannot be imported: {exc}") from exc
    try:
        engine = factory()
    except Exception as exc:
        raise ConfigError(f"OCR_ENGINE {import_path!r} could not be made: {exc}") from exc
    read = getattr(engine, "read_id_card", None)
    if read is None or not inspect.iscoroutinefunction(read):
        raise ConfigError(
            f"OCR_ENGINE {import_path!r} has no async read_id_card(image, media_type)"
        )
    return engine
