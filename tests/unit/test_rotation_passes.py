"""rotate-pii's users pass: a row changed between its read and its rewrite is passed by,
then taken up by another pass, and a row that keeps changing does not keep it running."""

from __future__ import annotations

import pytest

from auth import rotation
from core.crypto import PiiCipher

CIPHER = PiiCipher(bytes(32))  # never used: the passes are the fake's


class Passes:
    """Stands in for one pass over the users: each pass reads `read` rows per batch and
    rewrites all but `skipped` of them; `calls` counts the passes made."""

    def __init__(self, skipped_per_pass: list[int]) -> None:
        self.skipped_per_pass = skipped_per_pass
        self.calls = 0

    async def __call__(self, cipher, batch_size):
        skipped = self.skipped_per_pass[min(self.calls, len(self.skipped_per_pass) - 1)]
        self.calls += 1
        yield 10 - skipped, 10


@pytest.fixture
def passes(monkeypatch):
    def install(skipped_per_pass: list[int]) -> Passes:
        fake = Passes(skipped_per_pass)
        monkeypatch.setattr(rotation, "_one_pass", fake)
        return fake

    return install


async def test_one_pass_is_enough_when_no_row_changed_under_it(passes):
    fake = passes([0])
    assert [n async for n in rotation.rotate_users(CIPHER)] == [10]
    assert fake.calls == 1


async def test_a_row_changed_under_the_first_pass_is_taken_up_by_the_next(passes):
    fake = passes([1, 0])
    assert [n async for n in rotation.rotate_users(CIPHER)] == [9, 10]
    assert fake.calls == 2


async def test_rows_that_keep_changing_stop_it_after_a_bounded_number_of_passes(passes):
    fake = passes([1])
    assert len([n async for n in rotation.rotate_users(CIPHER)]) == rotation.PASSES
    assert fake.calls == rotation.PASSES
