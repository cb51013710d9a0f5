"""The user directory on fakes: ID numbers go in, accounts come out, never the number in clear."""

from __future__ import annotations

import os

import pytest

from auth.users import UserDirectory, view
from core.crypto import PiiCipher
from core.errors import UserNotFound
from tests.fakes import FakeUserRecords

WANG = ("330402197803203454", "王五", "3304**********3454")


def directory() -> tuple[UserDirectory, FakeUserRecords]:
    records = FakeUserRecords()
    return UserDirectory(PiiCipher(os.urandom(32)), records), records


async def test_a_user_is_kept_with_the_id_number_sealed_and_found_by_it_again():
    users, records = directory()
    account, created = await users.ensure(WANG[0], WANG[1], ["citizen"])
    assert created and account.id_masked == WANG[2]
    assert WANG[0] not in str(records.accounts) and WANG[0] not in str(records.ids_by_hash)
    assert await users.find(" " + WANG[0].lower() + " ") == account
    assert users.id_number_of(account) == WANG[0]


async def test_identity_of_gives_the_full_and_the_masked_id_number_or_none():
    users, _ = directory()
    account, _ = await users.ensure(WANG[0], WANG[1], ["citizen"])
    assert await users.identity_of(account.id) == (WANG[0], WANG[2])
    assert await users.identity_of("no-such-user") is None


async def test_ensure_adds_missing_roles_once_and_creates_nobody_twice():
    users, records = directory()
    await users.ensure(WANG[0], WANG[1], ["citizen"])
    account, created = await users.ensure(WANG[0], WANG[1], ["citizen", "ops"])
    assert not created and account.roles == ("citizen", "ops")
    again, _ = await users.ensure(WANG[0], WANG[1], ["ops"])
    assert again.roles == ("citizen", "ops") and len(records.accounts) == 1


async def test_a_role_is_taken_away_and_given_back_in_the_records():
    users, records = directory()
    account, _ = await users.ensure(WANG[0], WANG[1], ["citizen", "ops"])
    assert (await users.set_role(WANG[0], "ops", False)).roles == ("citizen",)
    assert records.accounts[account.id].roles == ("citizen",)
    assert (await users.set_role(WANG[0], "ops", True)).roles == ("citizen", "ops")


async def test_an_id_number_that_never_logged_in_is_not_found():
    users, _ = directory()
    with pytest.raises(UserNotFound):
        await users.find(WANG[0])
    with pytest.raises(UserNotFound):
        await users.set_disabled(WANG[0], True)


async def test_the_view_is_the_contracts_user_with_the_login_assurance_first():
    users, _ = directory()
    account, _ = await users.ensure(WANG[0], WANG[1], ["citizen"])
    assert view(account, "face") == {
        "id": account.id,
        "name": WANG[1],
        "id_number_masked": WANG[2],
        "roles": ["citizen"],
        "assurance": "face",
    }
    assert view(account)["assurance"] == "sms"
