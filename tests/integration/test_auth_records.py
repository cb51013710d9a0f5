"""The auth records on PostgreSQL and their fakes answer alike: one contract, run on both."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from server.bootstrap import records_for
from store.db import apply_migrations, close_database, open_database
from tests.fakes import FakeSessionRecords, FakeUserRecords

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(params=["fake", "postgres"])
async def records(request, pg_url):
    if request.param == "fake":
        users = FakeUserRecords()
        yield users, FakeSessionRecords(users)
        return
    await apply_migrations(pg_url)
    await open_database(pg_url)
    try:
        picked = records_for(pg_url)  # the PostgreSQL subclasses, as bootstrap picks them
        yield picked.users, picked.sessions
    finally:
        await close_database()


def unique() -> str:
    return uuid.uuid4().hex


async def new_account(users, id_hash: str | None = None, **overrides):
    values = dict(
        id_hash=id_hash or unique(),
        id_encrypted="sealed",
        id_masked="3304**********1230",
        name="张三",
        roles=("citizen",),
    )
    values.update(overrides)
    return await users.create(**values)


async def new_family(sessions, account, token_hash: str | None = None):
    return await sessions.create_family(
        account,
        device_id="phone",
        assurance="face",
        expires_at=NOW + timedelta(days=30),
        token_hash=token_hash or unique(),
    )


async def test_an_account_is_found_by_its_hash_and_its_id_as_it_was_created(records):
    users, _ = records
    id_hash = unique()
    account = await new_account(users, id_hash, roles=("citizen", "ops"))
    assert account.roles == ("citizen", "ops") and not account.disabled
    assert account.assurance == "sms"
    assert await users.by_id_hash(id_hash) == account == await users.get(account.id)


async def test_new_roles_and_disabling_show_on_the_next_read(records):
    users, _ = records
    id_hash = unique()
    account = await new_account(users, id_hash)
    assert await users.by_any_id_hash([unique(), id_hash]) == account
    assert await users.by_any_id_hash([unique()]) is None
    await users.set_roles(account.id, ("citizen", "ops"))
    await users.set_disabled(account.id, True)
    now = await users.get(account.id)
    assert (now.name, now.roles, now.disabled) == ("张三", ("citizen", "ops"), True)


async def test_a_token_leads_to_its_family_and_the_accounts_state_now(records):
    users, sessions = records
    account, token_hash = await new_account(users), unique()
    family = await new_family(sessions, account, token_hash)
    await users.set_disabled(account.id, True)
    found = await sessions.family_of_token(token_hash)
    assert (found.id, found.user_id, found.device_id, found.assurance) == (
        family.id,
        account.id,
        "phone",
        "face",
    )
    assert found.expires_at == NOW + timedelta(days=30) and found.revoked_at is None
    assert found.account.disabled


async def test_a_claimed_token_is_spent_and_its_successor_is_in_the_same_family(records):
    users, sessions = records
    token_hash, successor = unique(), unique()
    family = await new_family(sessions, await new_account(users), token_hash)
    assert await sessions.claim_and_rotate(token_hash, successor, family_id=family.id, at=NOW)
    assert not await sessions.claim_and_rotate(token_hash, unique(), family_id=family.id, at=NOW)
    assert (await sessions.family_of_token(successor)).id == family.id
    assert (await sessions.family_of_token(token_hash)).id == family.id


async def test_of_concurrent_claims_of_one_token_exactly_one_wins(records):
    users, sessions = records
    account = await new_account(users)
    for _ in range(5):
        token_hash = unique()
        family = await new_family(sessions, account, token_hash)
        wins = await asyncio.gather(
            *(
                sessions.claim_and_rotate(token_hash, unique(), family_id=family.id, at=NOW)
                for _ in range(3)
            )
        )
        assert sorted(wins) == [False, False, True]


async def test_a_family_is_revoked_once_and_keeps_its_first_time_and_reason(records):
    users, sessions = records
    family = await new_family(sessions, await new_account(users))
    assert await sessions.revoke_family(family.id, "reuse", NOW)
    assert not await sessions.revoke_family(family.id, "logout", NOW + timedelta(hours=1))
    revoked = await sessions.get_family(family.id)
    assert (revoked.revoked_at, revoked.revoked_reason) == (NOW, "reuse")


async def test_only_the_open_families_of_that_user_are_listed(records):
    users, sessions = records
    zhang, li = await new_account(users), await new_account(users, name="李四")
    still_open, closed = await new_family(sessions, zhang), await new_family(sessions, zhang)
    await new_family(sessions, li)
    await sessions.revoke_family(closed.id, "logout", NOW)
    assert [f.id for f in await sessions.open_families_of(zhang.id)] == [still_open.id]


async def test_what_does_not_exist_is_none_or_false(records):
    users, sessions = records
    nobody = str(uuid.uuid4())
    assert await users.by_id_hash(unique()) is None and await users.get(nobody) is None
    assert await sessions.family_of_token(unique()) is None
    assert await sessions.get_family(nobody) is None
    assert not await sessions.revoke_family(nobody, "logout", NOW)
    assert not await sessions.claim_and_rotate(unique(), unique(), family_id=nobody, at=NOW)
