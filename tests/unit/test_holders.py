"""Holders are resolved once per process: the user's row is not read and decrypted again
for every certificate request."""

from __future__ import annotations

import pytest

from core.errors import HolderNotFound
from services.holders import Holders
from tests.fakes.common import FakeClock


class FakeIdentities:
    def __init__(self, known: dict[str, tuple[str, str]]) -> None:
        self.known = known
        self.calls: list[str] = []

    async def identity_of(self, user_id: str) -> tuple[str, str] | None:
        self.calls.append(user_id)
        return self.known.get(user_id)


async def test_a_holder_resolved_once_is_not_looked_up_again():
    identities = FakeIdentities({"u1": ("330402199001011230", "3304**********1230")})
    holders = Holders(identities)
    first = await holders.of_user("u1")
    again = await holders.of_user("u1")
    assert again == first and first.id_number_masked == "3304**********1230"
    assert identities.calls == ["u1"]


async def test_a_holder_removed_by_hand_is_gone_once_the_remembered_one_ages_out():
    identities = FakeIdentities({"u1": ("330402199001011230", "3304**********1230")})
    clock = FakeClock(100.0)
    holders = Holders(identities, ttl_seconds=60, clock=clock)
    await holders.of_user("u1")
    identities.known.clear()
    clock.advance(59)
    await holders.of_user("u1")
    clock.advance(1)
    with pytest.raises(HolderNotFound):
        await holders.of_user("u1")


async def test_a_user_that_is_gone_is_asked_for_every_time():
    identities = FakeIdentities({})
    holders = Holders(identities)
    for _ in range(2):
        with pytest.raises(HolderNotFound):
            await holders.of_user("gone")
    assert identities.calls == ["gone", "gone"]


async def test_past_the_bound_the_oldest_holder_is_forgotten():
    identities = FakeIdentities({f"u{n}": (f"id{n}", f"m{n}") for n in range(3)})
    holders = Holders(identities, remember=2)
    for user in ("u0", "u1", "u2", "u0"):
        await holders.of_user(user)
    assert identities.calls == ["u0", "u1", "u2", "u0"]
