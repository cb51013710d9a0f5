"""The contract of the audit writer and of a login's one atomic write."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError

from auth.records import Account, LoginDraft, LoginRecorded, NewFamily
from core.errors import StoredDataCorrupt
from tests.contract_records.backends import Backend

MASKED = "3304**********1230"
LINE: dict[str, Any] = dict(
    actor=MASKED,
    action="mode.switch",
    target="item:HJ005",
    outcome="ok",
    reason="压测切换",
    subject_user_id=str(uuid.uuid4()),
    request_id="r-1",
    purpose="本人查看电子证照",
    before={"mode": "one_trip", "材料": ["身份证"]},
    after={"mode": "zero_trip", "version": 7},
)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- the audit writer ---------------------------------------------------------------


async def test_an_audit_line_reads_back_as_it_was_written_with_its_json_and_chinese(backend):
    marker = str(uuid.uuid4())
    await backend.records.audit(**{**LINE, "actor_user_id": marker})
    (line,) = await backend.inspect.audit_lines(actor_user_id=marker)
    assert line == {**LINE, "actor_user_id": marker}


async def test_an_audit_line_is_cut_to_its_columns_rather_than_refused(backend):
    marker = str(uuid.uuid4())
    long = {"target": "t" * 300, "reason": "因" * 900, "request_id": "r" * 200, "actor": "a" * 80}
    await backend.records.audit(**{**LINE, "actor_user_id": marker, **long})
    (line,) = await backend.inspect.audit_lines(actor_user_id=marker)
    assert [len(line[k]) for k in ("target", "reason", "request_id", "actor")] == [
        128,
        500,
        128,
        64,
    ]


async def test_an_audit_line_without_before_and_after_keeps_them_empty(backend):
    marker = str(uuid.uuid4())
    await backend.records.audit(
        actor="system", action="user.disable", target="x", actor_user_id=marker
    )
    (line,) = await backend.inspect.audit_lines(actor_user_id=marker)
    assert (line["before"], line["after"], line["outcome"], line["reason"]) == (
        None,
        None,
        "ok",
        "",
    )


# --- logins ---------------------------------------------------------------------------


async def an_account(backend: Backend) -> tuple[Account, str]:
    """An account, and the hash it is found by."""
    id_hash = uuid.uuid4().hex
    account = await backend.records.users.create(
        id_hash=id_hash, id_encrypted="sealed", id_masked=MASKED, name="张三", roles=("citizen",)
    )
    return account, id_hash


def a_login(id_hash: str, **overrides: Any) -> LoginDraft:
    at = now()
    values: dict[str, Any] = dict(
        jti=uuid.uuid4().hex,
        jti_expires_at=int(time.time()) + 300,
        id_hashes=(uuid.uuid4().hex, id_hash),  # the other: a hash under a retired key
        name="张三丰",
        idp_subject="sub-1230",
        at=at,
        family=NewFamily("phone-1", "face", at + timedelta(days=30), uuid.uuid4().hex),
        id_masked=MASKED,
        id_encrypted="sealed-at-login",
        request_id=f"r-{uuid.uuid4().hex}",
    )
    return LoginDraft(**(values | overrides))


async def test_a_login_uses_its_token_updates_the_account_and_starts_a_family(backend):
    account, id_hash = await an_account(backend)
    draft = a_login(id_hash)
    done = await backend.records.logins.record_login(draft)
    assert done.first_use and done.account is not None and done.family is not None
    assert (done.account.id, done.account.name, done.account.assurance) == (
        account.id,
        "张三丰",
        "face",
    )
    found = await backend.records.sessions.family_of_token(draft.family.token_hash)
    assert found is not None and found.id == done.family.id and found.user_id == account.id
    assert (found.device_id, found.assurance, found.expires_at) == (
        "phone-1",
        "face",
        draft.family.expires_at,
    )
    name, _, last_login = await backend.inspect.user(account.id)
    assert (name, last_login) == ("张三丰", draft.at)
    assert await backend.inspect.used(draft.jti)
    (line,) = await backend.inspect.audit_lines(target=f"family:{done.family.id}")
    assert line == {
        "actor": MASKED,
        "action": "auth.login",
        "target": f"family:{done.family.id}",
        "outcome": "ok",
        "reason": "face",
        "actor_user_id": account.id,
        "subject_user_id": None,
        "request_id": draft.request_id,
        "purpose": "",
        "before": None,
        "after": None,
    }


async def test_a_replayed_login_writes_nothing(backend):
    account, id_hash = await an_account(backend)
    first = a_login(id_hash)
    await backend.records.logins.record_login(first)
    again = a_login(id_hash, jti=first.jti, name="冒名")
    assert await backend.records.logins.record_login(again) == LoginRecorded(first_use=False)
    assert await backend.records.sessions.family_of_token(again.family.token_hash) is None
    assert (await backend.inspect.user(account.id))[0] == "张三丰"
    assert len(await backend.inspect.audit_lines(actor_user_id=account.id)) == 1  # the first's


async def test_a_first_login_makes_a_citizen_under_the_current_hash_with_a_session(backend):
    draft = a_login(uuid.uuid4().hex)
    done = await backend.records.logins.record_login(draft)
    assert done.first_use and done.account is not None and done.family is not None
    account = done.account
    assert (account.name, account.id_masked, account.id_encrypted, account.roles) == (
        "张三丰",
        MASKED,
        "sealed-at-login",
        ("citizen",),
    )
    assert not account.disabled and account.assurance == "face"
    assert await backend.records.users.by_id_hash(draft.id_hashes[0]) == account
    assert await backend.records.users.by_id_hash(draft.id_hashes[1]) is None
    assert (await backend.records.sessions.family_of_token(draft.family.token_hash)).id == (
        done.family.id
    )
    (line,) = await backend.inspect.audit_lines(actor_user_id=account.id)
    assert (line["action"], line["target"]) == ("auth.login", f"family:{done.family.id}")
    assert (await backend.records.logins.record_login(draft)).first_use is False


async def test_racing_first_logins_of_one_person_end_in_one_account(backend):
    id_hash = uuid.uuid4().hex
    drafts = [a_login(uuid.uuid4().hex, id_hashes=(id_hash,)) for _ in range(5)]
    done = await asyncio.gather(*(backend.records.logins.record_login(d) for d in drafts))
    assert {d.account.id for d in done if d.account} == {done[0].account.id}
    assert await backend.inspect.accounts_with([id_hash]) == 1
    assert len(await backend.records.sessions.open_families_of(done[0].account.id)) == 5


async def test_a_disabled_accounts_login_is_recorded_without_a_family(backend):
    account, id_hash = await an_account(backend)
    await backend.records.users.set_disabled(account.id, True)
    draft = a_login(id_hash)
    done = await backend.records.logins.record_login(draft)
    assert done.first_use and done.family is None
    assert done.account is not None and done.account.disabled and done.account.id == account.id
    assert await backend.records.sessions.family_of_token(draft.family.token_hash) is None
    assert await backend.inspect.audit_lines(actor_user_id=account.id) == []  # the service's


async def test_racing_logins_with_one_token_start_one_family(backend):
    account, id_hash = await an_account(backend)
    jti = uuid.uuid4().hex
    drafts = [a_login(id_hash, jti=jti) for _ in range(5)]
    done = await asyncio.gather(*(backend.records.logins.record_login(d) for d in drafts))
    assert sorted(d.first_use for d in done) == [False, False, False, False, True]
    assert len(await backend.records.sessions.open_families_of(account.id)) == 1


async def test_a_login_whose_token_id_cannot_be_kept_is_never_first(backend):
    _, id_hash = await an_account(backend)
    for jti in ("", "j" * 129):
        draft = a_login(id_hash, jti=jti)
        assert await backend.records.logins.record_login(draft) == LoginRecorded(first_use=False)
        assert await backend.records.sessions.family_of_token(draft.family.token_hash) is None


async def test_two_accounts_of_one_person_get_no_session(backend):
    enabled, enabled_hash = await an_account(backend)
    disabled, disabled_hash = await an_account(backend)
    await backend.records.users.set_disabled(disabled.id, True)
    draft = a_login(enabled_hash, id_hashes=(disabled_hash, enabled_hash))
    with pytest.raises(StoredDataCorrupt):
        await backend.records.logins.record_login(draft)
    assert await backend.records.sessions.family_of_token(draft.family.token_hash) is None
    assert await backend.inspect.audit_lines(request_id=draft.request_id) == []
    # What is kept: the token is used, and each account has the login on it.
    assert await backend.inspect.used(draft.jti)
    for account in (enabled, disabled):
        assert (await backend.inspect.user(account.id))[::2] == ("张三丰", draft.at)


async def test_a_login_that_fails_part_way_leaves_its_token_unused_and_the_account_as_it_was(
    backend,
):
    if backend.name == "fake":
        pytest.skip("a database's transaction or statement is all or nothing; the fake is not")
    account, id_hash = await an_account(backend)
    first = a_login(id_hash)
    await backend.records.logins.record_login(first)
    clash = a_login(id_hash, name="改名", family=first.family)  # its token hash is taken
    with pytest.raises(IntegrityError):
        await backend.records.logins.record_login(clash)
    assert not await backend.inspect.used(clash.jti)
    assert len(await backend.inspect.audit_lines(actor_user_id=account.id)) == 1  # the first's
    assert (await backend.inspect.user(account.id))[0] == "张三丰"
    assert len(await backend.records.sessions.open_families_of(account.id)) == 1
