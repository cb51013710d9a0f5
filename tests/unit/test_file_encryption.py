"""Uploads at rest: sealed in segments under a key of their own, each ciphertext naming its
suite and key, and any change, swap or cut refused."""

from __future__ import annotations

import io
import os

import pytest

from core.crypto import (
    HEADER_BYTES,
    SEGMENT_BYTES,
    SUITE_AES256_GCM_64K,
    TAG_BYTES,
    BlobCipher,
)
from core.errors import StoredDataCorrupt

KEY = os.urandom(32)
SEALED_SEGMENT = SEGMENT_BYTES + TAG_BYTES


@pytest.mark.parametrize(
    "size", [0, 1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 3 * SEGMENT_BYTES + 5]
)
def test_files_of_any_size_round_trip(size):
    cipher, data = BlobCipher(KEY), os.urandom(size)
    assert cipher.decrypt(cipher.encrypt(data, b"u1"), b"u1") == data


def test_the_header_names_the_suite_and_the_key():
    one, again, other = BlobCipher(KEY), BlobCipher(KEY), BlobCipher(os.urandom(32))
    blob = one.encrypt(b"photo", b"u1")
    assert blob[:3] == b"LPB" and blob[3] == SUITE_AES256_GCM_64K
    assert blob[4:12] == one.key_id == again.key_id != other.key_id
    assert one.key_id not in KEY


def test_the_same_file_never_seals_the_same_way_and_never_shows_through():
    cipher, data = BlobCipher(KEY), b"\x89PNG 330402199001011230 " * 100
    first, second = cipher.encrypt(data, b"u1"), cipher.encrypt(data, b"u1")
    assert first != second
    assert b"330402199001011230" not in first and b"\x89PNG" not in first


def _sealed(size: int = 2 * SEGMENT_BYTES + 10) -> bytes:
    return BlobCipher(KEY).encrypt(os.urandom(size), b"u1")


def _refused(blob: bytes, context: bytes = b"u1", cipher: BlobCipher | None = None) -> str:
    with pytest.raises(StoredDataCorrupt) as refused:
        (cipher or BlobCipher(KEY)).decrypt(blob, context)
    return refused.value.reason


def test_a_changed_byte_is_refused():
    blob = bytearray(_sealed())
    blob[HEADER_BYTES + 100] ^= 1
    assert _refused(bytes(blob)) == "blob_authentication_failed"


def test_a_file_cut_at_a_segment_boundary_is_refused():
    blob = _sealed()
    assert _refused(blob[: HEADER_BYTES + 2 * SEALED_SEGMENT]) == "blob_authentication_failed"
    assert _refused(blob[:HEADER_BYTES]) == "blob_authentication_failed"


def test_segments_put_in_another_order_are_refused():
    blob = _sealed()
    first = blob[HEADER_BYTES : HEADER_BYTES + SEALED_SEGMENT]
    second = blob[HEADER_BYTES + SEALED_SEGMENT : HEADER_BYTES + 2 * SEALED_SEGMENT]
    swapped = blob[:HEADER_BYTES] + second + first + blob[HEADER_BYTES + 2 * SEALED_SEGMENT :]
    assert _refused(swapped) == "blob_authentication_failed"


def test_a_file_sealed_for_one_upload_does_not_open_as_another():
    assert _refused(_sealed(), context=b"u2") == "blob_authentication_failed"


def test_a_file_under_another_key_or_an_unknown_suite_is_refused_by_name():
    assert _refused(_sealed(), cipher=BlobCipher(os.urandom(32))) == "blob_key_unknown"
    blob = bytearray(_sealed())
    blob[3] = 9  # 1 and 2 are AES-256-GCM and SM4-GCM
    assert _refused(bytes(blob)).startswith("blob_suite_unknown")
    assert _refused(b"PK\x03\x04 not ours") == "blob_header_unreadable"


class _CountingReader(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.largest = max(self.largest, len(chunk))
        return chunk


def test_sealing_and_opening_read_a_segment_at_a_time_never_the_whole_file():
    data = os.urandom(5 * 1024 * 1024)
    source, sealed = _CountingReader(data), io.BytesIO()
    BlobCipher(KEY).encrypt_stream(source, sealed, b"u1")
    assert source.largest == SEGMENT_BYTES
    reader, opened = _CountingReader(sealed.getvalue()), io.BytesIO()
    BlobCipher(KEY).decrypt_stream(reader, opened, b"u1")
    assert reader.largest == SEALED_SEGMENT
    assert opened.getvalue() == data
