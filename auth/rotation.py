"""`rotate-pii` for users: each ID number sealed again, and its lookup hash made again,
under the current suite and key (core.crypto), a batch at a time.

Rows already current are skipped by their prefix, so a run that stopped half-way is simply
run again. Each row is replaced only if it still holds the ciphertext that was read, so a
row changed meanwhile is left for the next pass rather than overwritten. Readers never
wait for it: until a row is rewritten, its old ciphertext and hash still work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from tortoise.transactions import in_transaction

from auth import identity
from auth.models import User
from core.crypto import PiiCipher

PASSES = 3


async def rotate_users(cipher: PiiCipher, batch_size: int = 200) -> AsyncIterator[int]:
    """Yields how many rows each batch rewrote. A row changed between its read and its
    rewrite is passed by; a pass that left any behind is followed by another, at most
    PASSES in all (`left_behind` says what is still not current)."""
    for _ in range(PASSES):
        skipped = 0
        async for rewritten, read in _one_pass(cipher, batch_size):
            skipped += read - rewritten
            yield rewritten
        if not skipped:
            return


async def left_behind(cipher: PiiCipher) -> int:
    """Users whose ID number is not yet sealed under the current suite and key."""
    return await User.exclude(id_encrypted__startswith=cipher.prefix).count()


async def _one_pass(cipher: PiiCipher, batch_size: int) -> AsyncIterator[tuple[int, int]]:
    after = None
    while True:
        query = User.exclude(id_encrypted__startswith=cipher.prefix)
        if after is not None:
            query = query.filter(id__gt=after)
        rows = await query.order_by("id").limit(batch_size).values("id", "id_encrypted")
        if not rows:
            return
        rewritten = 0
        async with in_transaction():
            for row in rows:
                id_number = cipher.decrypt(row["id_encrypted"])
                rewritten += await User.filter(
                    id=row["id"], id_encrypted=row["id_encrypted"]
                ).update(
                    id_encrypted=cipher.encrypt(id_number),
                    id_hash=cipher.lookup_hash(identity.normalize(id_number)),
                )
        after = rows[-1]["id"]
        yield rewritten, len(rows)
