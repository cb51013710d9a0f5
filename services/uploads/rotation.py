"""`rotate-pii` for uploads: each stored file and each sealed OCR record sealed again under
the current suite and key (core.crypto), a batch of uploads at a time.

What is already current is told by its header and skipped, so a run that stopped half-way
is simply run again. A file is replaced whole by rename, so a reader opens the old file or
the new one, and both open. An OCR record is replaced only if it still holds what was read.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

from core.crypto import HEADER_BYTES
from services.uploads.service import ocr_context
from services.uploads.store import UploadStore
from store.models import Upload


async def rotate_uploads(store: UploadStore, batch_size: int = 200) -> AsyncIterator[int]:
    """Yields how many files and records each batch rewrote; ends after the last upload."""
    cipher, after = store.cipher, ""
    while True:
        rows = (
            await Upload.filter(id__gt=after)
            .order_by("id")
            .limit(batch_size)
            .values("id", "ocr_sealed")
        )
        if not rows:
            return
        rewritten = 0
        for row in rows:
            rewritten += store.reseal(row["id"])
            sealed = row["ocr_sealed"]
            if sealed is None:
                continue
            blob = base64.b64decode(sealed)
            if cipher.is_current(blob[:HEADER_BYTES]):
                continue
            context = ocr_context(row["id"])
            fresh = cipher.encrypt(cipher.decrypt(blob, context), context)
            rewritten += await Upload.filter(id=row["id"], ocr_sealed=sealed).update(
                ocr_sealed=base64.b64encode(fresh).decode()
            )
        after = rows[-1]["id"]
        yield rewritten
