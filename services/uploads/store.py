"""The encrypted file store under `UPLOADS_DIR`.

    UPLOADS_DIR/
      spool/          plaintext in flight: 0600 files named at random, removed when the
                      request ends; any left by a crash are removed at the next start
      ab/abcd….lpb    one sealed file per upload (core.crypto.BlobCipher), named by the
                      server-made upload id, sharded by its first two characters

No name or path the client sent is ever part of a path here: an upload id is 32 lowercase
hex characters, checked before it becomes a file name. A file is sealed under a temporary
name and renamed into place, so a reader never sees half of one.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from core.crypto import HEADER_BYTES, BlobCipher
from core.errors import InvalidRequest, UploadTooLarge

SPOOL = "spool"
SUFFIX = ".lpb"
STALE_SPOOL_SECONDS = 3600
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


def is_upload_id(value: str) -> bool:
    return bool(_UPLOAD_ID.fullmatch(value))


class Spool:
    """One upload as it arrives: written to a private file, never held whole in memory."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.received = False
        self.path = _private_file(folder)
        self._folder = folder
        self._scratch: list[Path] = []
        self._file = self.path.open("wb")

    def begin(self) -> None:
        """The file part has started; a second one in the same request is refused."""
        if self.received:
            raise InvalidRequest(fields=[{"field": "file", "problem": "only one file per upload"}])
        self.received = True

    def write(self, chunk: bytes) -> None:
        if self.size + len(chunk) > self.limit:
            raise UploadTooLarge(reason="file_part")
        self._file.write(chunk)
        self.size += len(chunk)

    def close_writing(self) -> None:
        self._file.close()

    def scratch(self) -> Path:
        """Another private file beside the spool, removed with it."""
        path = _private_file(self._folder)
        self._scratch.append(path)
        return path

    def discard(self) -> None:
        self._file.close()
        for path in (self.path, *self._scratch):
            path.unlink(missing_ok=True)


class UploadStore:
    def __init__(self, root: Path, cipher: BlobCipher) -> None:
        self.root = root
        self.cipher = cipher
        self._spool = root / SPOOL

    @contextlib.contextmanager
    def spool(self, limit: int) -> Iterator[Spool]:
        # Made on first use, so commands that never receive a file leave no folder behind.
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._spool.mkdir(mode=0o700, exist_ok=True)
        spool = Spool(self._spool, limit)
        try:
            yield spool
        finally:
            spool.discard()

    def seal(self, upload_id: str, plaintext: Path) -> int:
        """Encrypts `plaintext` into the upload's file; returns the plaintext size."""
        final = self.path_of(upload_id)
        final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")
        try:
            with plaintext.open("rb") as source, _create_private(partial) as sink:
                self.cipher.encrypt_stream(source, sink, upload_id.encode())
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)
        return plaintext.stat().st_size

    def open(self, upload_id: str) -> bytes:
        sink = io.BytesIO()
        with self.path_of(upload_id).open("rb") as source:
            self.cipher.decrypt_stream(source, sink, upload_id.encode())
        return sink.getvalue()

    def reseal(self, upload_id: str) -> bool:
        """Seals the upload's file again under the current suite and key; False when it is
        current already (or gone). The plaintext stays in memory: an upload is at most
        UPLOAD_MAX_BYTES, and a plaintext file on disk is what the store never leaves."""
        final = self.path_of(upload_id)
        try:
            with final.open("rb") as source:
                if self.cipher.is_current(source.read(HEADER_BYTES)):
                    return False
        except FileNotFoundError:
            return False
        plaintext = self.open(upload_id)
        partial = final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")
        try:
            with _create_private(partial) as sink:
                self.cipher.encrypt_stream(io.BytesIO(plaintext), sink, upload_id.encode())
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)
        return True

    def remove(self, upload_id: str) -> None:
        self.path_of(upload_id).unlink(missing_ok=True)

    def path_of(self, upload_id: str) -> Path:
        if not is_upload_id(upload_id):
            raise ValueError("not an upload id")
        return self.root / upload_id[:2] / f"{upload_id}{SUFFIX}"

    def purge_stale_spools(self, older_than: float = STALE_SPOOL_SECONDS) -> int:
        """Removes plaintext a crashed worker left behind. Only old files: another worker
        sharing the folder may be receiving one right now."""
        if not self._spool.is_dir():
            return 0
        cutoff, removed = time.time() - older_than, 0
        for path in self._spool.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed


def _private_file(folder: Path) -> Path:
    path = folder / f"{secrets.token_hex(16)}.part"
    # O_EXCL with 0600: created here, by us, readable only by us.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


def _create_private(path: Path) -> io.BufferedWriter:
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
