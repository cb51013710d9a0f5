"""The statements written out for PostgreSQL on the hot paths (issue 13) keep what the ORM
kept: the same rows, the same answers. tests/api/test_hot_statements_on_sqlite.py runs the
same tests on SQLite, where the ORM writes them (tortoise's per-dialect state must not
cross from one suite's process to the other's)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError

from auth.idtoken import Identity
from auth.models import UsedIdentityToken, User
from auth.on_postgres import PostgresLogins
from auth.records import Account, LoginDraft, LoginRecorded, NewFamily
from auth.users import UserDirectory
from core.crypto import PiiCipher
from core.errors import IdempotencyKeyInFlight, StoredDataCorrupt
from server.bootstrap import Records, records_for
from services import audit
from services.applications.on_postgres import FILE_NEW, _values
from services.applications.records import NewApplication, TortoiseApplicationRecords
from services.applications.rules import ApplicationView
from services.db import apply_migrations, close_database, open_database
from services.fair_pool import FairPool
from services.models import Application, AuditEntry, OutboxAttempt, OutboxRow
from services.outbox import Delivery


@pytest.fixture
async def database(pg_url):
    """The records as bootstrap picks them for this database: the PostgreSQL subclasses."""
    await apply_migrations(pg_url)
    await open_database(pg_url, 5)
    try:
        yield records_for(pg_url)
    finally:
        await close_database()


async def test_the_server_waits_for_postgresql_connections_in_line(database):
    # The fixture opens the database as the server does (with its timeout); the pool is
    # made at the first statement.
    client = connections.get("default")
    await client.execute_query("SELECT 1")
    assert isinstance(client._pool, FairPool)


LINE: dict[str, Any] = dict(
    actor="3304**********1230",
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


async def test_an_audit_line_reads_back_as_it_was_written_with_its_json_and_chinese(database):
    marker = uuid.uuid4().hex
    await audit.record(**{**LINE, "actor_user_id": marker})
    entries, _ = await audit.query(actor=marker)
    assert len(entries) == 1
    entry = entries[0]
    for field in ("actor", "action", "target", "outcome", "reason", "purpose", "request_id"):
        assert entry[field] == LINE[field]
    assert entry["before"] == LINE["before"] and entry["after"] == LINE["after"]
    row = await AuditEntry.get(actor_user_id=marker)
    assert row.subject_user_id == LINE["subject_user_id"]
    assert abs(row.at.timestamp() - time.time()) < 60


async def test_an_audit_line_is_cut_to_its_columns_rather_than_refused(database):
    marker = uuid.uuid4().hex
    await audit.record(
        **{**LINE, "actor_user_id": marker, "target": "t" * 300, "reason": "因" * 900}
    )
    row = await AuditEntry.get(actor_user_id=marker)
    assert len(row.target) == 128 and len(row.reason) == 500


async def test_an_audit_line_without_before_and_after_keeps_them_empty(database):
    marker = uuid.uuid4().hex
    await audit.record(actor="system", action="user.disable", target="x", actor_user_id=marker)
    row = await AuditEntry.get(actor_user_id=marker)
    assert row.before is None and row.after is None and row.outcome == "ok"


async def test_an_identity_token_logs_in_once_even_when_two_logins_race(database):
    tokens = database.identity_tokens
    jti, expires = uuid.uuid4().hex, int(time.time()) + 300
    first = await asyncio.gather(*(tokens.first_use(jti, expires) for _ in range(5)))
    assert sorted(first) == [False, False, False, False, True]
    assert await tokens.first_use(jti, expires) is False
    assert await tokens.first_use(uuid.uuid4().hex, expires) is True


async def test_an_identity_token_without_a_usable_id_is_never_first(database):
    tokens = database.identity_tokens
    assert await tokens.first_use("", int(time.time()) + 300) is False
    assert await tokens.first_use("j" * 129, int(time.time()) + 300) is False


async def an_account(records: Records) -> tuple[Account, str]:
    """An account, and the hash it is found by."""
    id_hash = uuid.uuid4().hex
    account = await records.users.create(
        id_hash=id_hash,
        id_encrypted="sealed",
        id_masked="3304**********1230",
        name="张三",
        roles=("citizen",),
    )
    return account, id_hash


def a_login(id_hash: str, **overrides: Any) -> LoginDraft:
    now = datetime.now(UTC).replace(microsecond=0)
    values: dict[str, Any] = dict(
        jti=uuid.uuid4().hex,
        jti_expires_at=int(time.time()) + 300,
        id_hashes=(uuid.uuid4().hex, id_hash),  # the other: a hash under a retired key
        name="张三丰",
        idp_subject="sub-1230",
        at=now,
        family=NewFamily("phone-1", "face", now + timedelta(days=30), uuid.uuid4().hex),
        actor="3304**********1230",
        request_id=f"r-{uuid.uuid4().hex}",
    )
    return LoginDraft(**(values | overrides))


async def test_a_login_uses_its_token_updates_the_account_and_starts_a_family(database):
    account, id_hash = await an_account(database)
    draft = a_login(id_hash)
    done = await database.logins.record_login(draft)
    assert done.first_use and done.account is not None and done.family is not None
    assert (done.account.id, done.account.name, done.account.assurance) == (
        account.id,
        "张三丰",
        "face",
    )
    found = await database.sessions.family_of_token(draft.family.token_hash)
    assert found is not None and found.id == done.family.id and found.user_id == account.id
    assert (found.device_id, found.assurance, found.expires_at) == (
        "phone-1",
        "face",
        draft.family.expires_at,
    )
    row = await User.get(id=account.id)
    assert (row.name, row.idp_subject, row.last_login_at) == ("张三丰", "sub-1230", draft.at)
    assert await UsedIdentityToken.exists(jti=draft.jti)
    (line,) = (await audit.query(target=f"family:{done.family.id}"))[0]  # as the log reads it
    assert {k: line[k] for k in ("actor", "action", "target", "outcome", "reason")} == {
        "actor": "3304**********1230",
        "action": "auth.login",
        "target": f"family:{done.family.id}",
        "outcome": "ok",
        "reason": "face",
    }
    assert (line["request_id"], line["purpose"], line["before"], line["after"]) == (
        draft.request_id,
        "",
        None,
        None,
    )


async def test_a_replayed_login_writes_nothing(database):
    account, id_hash = await an_account(database)
    first = a_login(id_hash)
    await database.logins.record_login(first)
    again = a_login(id_hash, jti=first.jti, name="冒名")
    assert await database.logins.record_login(again) == LoginRecorded(first_use=False)
    assert await database.sessions.family_of_token(again.family.token_hash) is None
    assert (await User.get(id_hash=id_hash)).name == "张三丰"
    assert await AuditEntry.filter(actor_user_id=account.id).count() == 1  # the first's


async def test_a_first_login_uses_its_token_and_writes_nothing_else(database):
    draft = a_login(uuid.uuid4().hex)
    assert await database.logins.record_login(draft) == LoginRecorded(first_use=True)
    assert await database.sessions.family_of_token(draft.family.token_hash) is None
    assert not await User.filter(id_hash__in=list(draft.id_hashes)).exists()
    assert not await AuditEntry.exists(request_id=draft.request_id)
    assert (await database.logins.record_login(draft)).first_use is False


async def test_a_disabled_accounts_login_is_recorded_without_a_family(database):
    account, id_hash = await an_account(database)
    await database.users.set_disabled(account.id, True)
    draft = a_login(id_hash)
    done = await database.logins.record_login(draft)
    assert done.first_use and done.family is None
    assert done.account is not None and done.account.disabled and done.account.id == account.id
    assert await database.sessions.family_of_token(draft.family.token_hash) is None
    assert not await AuditEntry.exists(actor_user_id=account.id)  # the refusal is the service's


async def test_racing_logins_with_one_token_start_one_family(database):
    account, id_hash = await an_account(database)
    jti = uuid.uuid4().hex
    drafts = [a_login(id_hash, jti=jti) for _ in range(5)]
    done = await asyncio.gather(*(database.logins.record_login(d) for d in drafts))
    assert sorted(d.first_use for d in done) == [False, False, False, False, True]
    assert len(await database.sessions.open_families_of(account.id)) == 1


async def test_a_login_whose_token_id_cannot_be_kept_is_never_first(database):
    account, id_hash = await an_account(database)
    for jti in ("", "j" * 129):
        draft = a_login(id_hash, jti=jti)
        assert await database.logins.record_login(draft) == LoginRecorded(first_use=False)
        assert await database.sessions.family_of_token(draft.family.token_hash) is None


async def test_a_login_that_fails_part_way_leaves_its_token_unused_and_the_account_as_it_was(
    database,
):
    # PostgreSQL only: one statement is all or nothing. (On SQLite the token's use is its
    # own write, and a login failing after it has burnt its token; auth/logins.py.)
    if not isinstance(database.logins, PostgresLogins):
        pytest.skip("the one-statement login is PostgreSQL's")
    account, id_hash = await an_account(database)
    first = a_login(id_hash)
    await database.logins.record_login(first)
    clash = a_login(id_hash, name="改名", family=first.family)  # its token hash is taken
    with pytest.raises(IntegrityError):
        await database.logins.record_login(clash)
    assert not await UsedIdentityToken.exists(jti=clash.jti)
    assert await AuditEntry.filter(actor_user_id=account.id).count() == 1  # the first's
    assert (await User.get(id=account.id)).name == "张三丰"
    assert len(await database.sessions.open_families_of(account.id)) == 1


async def test_two_accounts_of_one_person_get_no_session(database):
    if not isinstance(database.logins, PostgresLogins):
        pytest.skip("the one-statement login is PostgreSQL's")
    enabled, enabled_hash = await an_account(database)
    disabled, disabled_hash = await an_account(database)
    await database.users.set_disabled(disabled.id, True)
    draft = a_login(enabled_hash, id_hashes=(disabled_hash, enabled_hash))
    with pytest.raises(StoredDataCorrupt):
        await database.logins.record_login(draft)
    assert await database.sessions.family_of_token(draft.family.token_hash) is None
    assert not await AuditEntry.exists(request_id=draft.request_id)


async def test_racing_first_logins_of_one_person_end_in_one_account(database):
    directory = UserDirectory(PiiCipher(os.urandom(32)), database.users)
    who = Identity("sub-1230", "330402199001011230", "张三", "face", "jti", 2_000_000_000)
    at = datetime.now(UTC)
    accounts = await asyncio.gather(*(directory.first_login(who, at) for _ in range(5)))
    assert len({a.id for a in accounts}) == 1
    assert await User.filter(id=accounts[0].id).count() == 1


def new_application(user_id: str) -> NewApplication:
    return NewApplication(
        id=str(uuid.uuid4()),
        user_id=user_id,
        item_code="HJ005",
        materials={"id_card": {"certificate_id": "330000-SFZ-1"}, "户口": {"upload_id": "u"}},
        form={"说明": "迁入", "count": 2},
        materials_verified=False,
        at=datetime.now(UTC),
        filed_by="3304**********1230",
        request_id="r-file",
    )


async def test_a_key_is_claimed_once_however_many_filings_race_for_it(database):
    applications = database.applications
    user, until = str(uuid.uuid4()), datetime.now(UTC) + timedelta(seconds=30)
    claims = await asyncio.gather(
        *(applications.claim_key(user, "k-1", "f", until) for _ in range(5))
    )
    assert sorted(claims) == [False, False, False, False, True]
    found = await applications.key(user, "k-1")
    assert found is not None and found.application_id is None and found.fingerprint == "f"
    assert await applications.claim_key(str(uuid.uuid4()), "k-1", "f", until) is True  # per user


async def test_a_filing_stores_the_application_its_delivery_and_the_keys_outcome(database):
    applications = database.applications
    new = new_application(str(uuid.uuid4()))
    await applications.claim_key(new.user_id, "k-2", "fp", new.at + timedelta(seconds=30))
    created = await applications.create(new, "k-2", "fp")
    stored = await applications.get(new.id)
    assert stored == created
    assert (stored.status, stored.materials, stored.form) == ("queued", new.materials, new.form)
    assert stored.history == (("queued", new.at),) and stored.materials_verified is False
    row = await Application.get(id=new.id)
    assert abs((row.created_at - new.at).total_seconds()) < 1 and row.updated_at is not None
    outbox = await OutboxRow.get(application_id=new.id)
    assert (outbox.state, outbox.attempts, outbox.claimed_by) == ("pending", 0, None)
    settled = await applications.key(new.user_id, "k-2")
    assert settled is not None and settled.application_id == new.id
    (line,) = await AuditEntry.filter(actor_user_id=new.user_id)
    assert (line.action, line.target, line.reason) == (
        "application.file",
        f"application:{new.id}",
        "HJ005",
    )
    assert (line.actor, line.request_id, line.outcome) == ("3304**********1230", "r-file", "ok")


async def test_a_filing_whose_key_was_taken_over_stores_nothing(database):
    applications = database.applications
    new = new_application(str(uuid.uuid4()))
    await applications.claim_key(new.user_id, "k-3", "mine", new.at + timedelta(seconds=30))
    # Another request took the key over with another body while this one was slow.
    await applications.take_over_key(
        new.user_id, "k-3", "theirs", new.at + timedelta(minutes=1), new.at + timedelta(minutes=2)
    )
    with pytest.raises(IdempotencyKeyInFlight):
        await applications.create(new, "k-3", "mine")
    assert await applications.get(new.id) is None
    assert not await OutboxRow.filter(application_id=new.id).exists()
    still = await applications.key(new.user_id, "k-3")
    assert still is not None and still.application_id is None
    assert not await AuditEntry.filter(actor_user_id=new.user_id).exists()


async def test_a_new_key_files_its_application_at_once_and_a_known_key_stores_nothing(database):
    applications = database.applications
    new = new_application(str(uuid.uuid4()))
    until = new.at + timedelta(seconds=30)
    created = await applications.file_new(new, "k-4", "fp", until)
    assert created is not None and created == await stored(applications, new.id)
    assert created.history == (("queued", new.at),)
    assert (await OutboxRow.get(application_id=new.id)).state == "pending"
    key = await applications.key(new.user_id, "k-4")
    assert key is not None and (key.application_id, key.fingerprint) == (new.id, "fp")
    (line,) = await AuditEntry.filter(actor_user_id=new.user_id)
    assert (line.action, line.target) == ("application.file", f"application:{new.id}")
    again = new_application(new.user_id)
    assert await applications.file_new(again, "k-4", "other", until) is None
    held = new_application(new.user_id)  # a key a filing still holds is known too
    await applications.claim_key(new.user_id, "k-5", "fp", until)
    assert await applications.file_new(held, "k-5", "fp", until) is None
    for refused in (again, held):
        assert await applications.get(refused.id) is None
        assert not await OutboxRow.filter(application_id=refused.id).exists()
    assert await AuditEntry.filter(actor_user_id=new.user_id).count() == 1
    assert (await applications.key(new.user_id, "k-4")).fingerprint == "fp"


async def test_racing_filings_with_one_new_key_make_one_application(database):
    applications = database.applications
    user = str(uuid.uuid4())
    news = [new_application(user) for _ in range(5)]
    until = news[0].at + timedelta(seconds=30)
    results = await asyncio.gather(*(applications.file_new(n, "k-6", "fp", until) for n in news))
    made = [r for r in results if r is not None]
    assert len(made) == 1
    assert await Application.filter(user_id=user).count() == 1
    assert await OutboxRow.filter(application_id=made[0].id).count() == 1
    key = await applications.key(user, "k-6")
    assert key is not None and key.application_id == made[0].id


async def test_a_refused_filing_reads_its_key_only_after_a_racing_filing_of_it_commits(
    database, pg_url
):
    # PostgreSQL only: its filing writes the key and the application in one statement,
    # unseen until it commits, and a racing filing that the checks refused must not answer
    # its refusal while this one files.
    applications = database.applications
    new = new_application(str(uuid.uuid4()))
    first = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://", 1))
    try:
        writing = first.transaction()
        await writing.start()
        await first.execute(FILE_NEW, *_values(new, "k-7", "fp"))
        assert await applications.key(new.user_id, "k-7") is None  # a plain read: not yet
        reader = asyncio.create_task(applications.key_after_writers(new.user_id, "k-7"))
        await asyncio.sleep(0.3)
        assert not reader.done()  # waiting behind the filing being written
        await writing.commit()
        found = await asyncio.wait_for(reader, 5)
        assert found is not None and found.application_id == new.id
    finally:
        await first.close()
    # The probe left nothing behind, and without a writer it does not wait.
    assert await applications.key_after_writers(new.user_id, "k-8") is None
    assert await applications.key(new.user_id, "k-8") is None


async def stored(records: TortoiseApplicationRecords, application_id: str) -> ApplicationView:
    found = await records.get(application_id)
    assert found is not None
    return found


async def filed(records: TortoiseApplicationRecords) -> NewApplication:
    new = new_application(str(uuid.uuid4()))
    await records.claim_key(new.user_id, "k", "fp", new.at + timedelta(seconds=30))
    await records.create(new, "k", "fp")
    return new


async def test_a_delivery_is_claimed_by_one_worker_with_its_application(database):
    await OutboxRow.all().delete()
    applications, outbox = database.applications, database.outbox
    news = [await filed(applications) for _ in range(3)]
    now = datetime.now(UTC)
    until = now + timedelta(minutes=2)
    claims = await asyncio.gather(*(outbox.claim(f"w{n}", now, until, 2) for n in range(4)))
    # Never one row to two workers; what the racers left, the next claim takes.
    taken = [d for claim in claims for d in claim]
    taken += await outbox.claim("late", now, until, 10)
    assert sorted(d.application.id for d in taken) == sorted(n.id for n in news)
    first = next(d for d in taken if d.application.id == news[0].id)
    assert first.attempts == 0 and first.application == await stored(applications, news[0].id)
    assert first.application.materials == news[0].materials
    assert await outbox.claim("later", now, until, 10) == []
    # A lease that ran out lets another worker take the row.
    later = until + timedelta(seconds=1)
    again = await outbox.claim("next", later, later + timedelta(minutes=2), 10)
    assert sorted(d.application.id for d in again) == sorted(n.id for n in news)


async def claimed_by_w1(database: Records) -> tuple[NewApplication, Delivery]:
    """A filing of its own, its delivery claimed by worker "w1"."""
    await OutboxRow.all().delete()
    new = await filed(database.applications)
    now = datetime.now(UTC)
    (delivery,) = await database.outbox.claim("w1", now, now + timedelta(minutes=2), 10)
    return new, delivery


async def test_a_delivery_is_marked_once_and_only_by_its_worker(database):
    applications, outbox = database.applications, database.outbox
    new, delivery = await claimed_by_w1(database)
    now = datetime.now(UTC)
    assert await outbox.delivered(delivery.id, "w2", "GA-1", now, 7) is False
    assert (await stored(applications, new.id)).status == "queued"
    assert await outbox.delivered(delivery.id, "w1", "GA-1", now, 7) is True
    assert await outbox.delivered(delivery.id, "w1", "GA-1", now, 9) is False
    submitted = await stored(applications, new.id)
    assert submitted.gateway_application_id == "GA-1"
    assert [s for s, _ in submitted.history] == ["queued", "submitted"]
    row = await OutboxRow.get(id=delivery.id)
    assert (row.state, row.claimed_until, row.delivered_at is not None) == ("delivered", None, True)
    # The attempt is kept with the mark, once: not for the refused or repeated marks.
    (attempt,) = await OutboxAttempt.filter(outbox_id=delivery.id)
    assert (attempt.outcome, attempt.duration_ms, attempt.error) == ("delivered", 7, "")
    await outbox.record_attempt(delivery.id, "retry", "省级平台响应超时 gateway timed out", 30)
    tries = await OutboxAttempt.filter(outbox_id=delivery.id).order_by("id")
    assert [(t.outcome, t.duration_ms) for t in tries] == [("delivered", 7), ("retry", 30)]


async def test_a_delivery_marked_after_the_callback_keeps_the_status_the_callback_set(database):
    applications, outbox = database.applications, database.outbox
    new, delivery = await claimed_by_w1(database)
    now = datetime.now(UTC)
    # The gateway's "accepted" arrived before the worker marked the row.
    assert await applications.move_forward(delivery.application.id, "accepted", now) is True
    assert await outbox.delivered(delivery.id, "w1", "GA-2", now, 3) is True
    found = await stored(applications, new.id)
    assert found.status == "accepted" and found.gateway_application_id == "GA-2"
    assert [s for s, _ in found.history] == ["queued", "accepted"]


async def test_a_status_moves_only_forward_and_each_step_once(database):
    applications = database.applications
    new = await filed(applications)
    at = [new.at + timedelta(seconds=n) for n in range(1, 5)]
    move = applications.move_forward
    assert await move(new.id, "accepted", at[0]) is True
    assert await move(new.id, "accepted", at[1]) is False  # repeated
    assert await move(new.id, "submitted", at[1]) is False  # late: behind where it stands
    assert await move(new.id, "completed", at[2], "330000-JSZ-9") is True
    assert await move(new.id, "rejected", at[3]) is False  # final
    done = await stored(applications, new.id)
    assert done.status == "completed" and done.result_certificate_id == "330000-JSZ-9"
    assert done.history == (("queued", new.at), ("accepted", at[0]), ("completed", at[2]))
    assert await move(str(uuid.uuid4()), "accepted", at[0]) is None
    assert await move("not-a-uuid", "accepted", at[0]) is None
    assert await applications.get(str(uuid.uuid4())) is None
    assert await applications.get("not-a-uuid") is None


async def test_racing_callbacks_move_a_status_once(database):
    applications = database.applications
    new = await filed(applications)
    moves = [applications.move_forward(new.id, "accepted", new.at) for _ in range(5)]
    assert sorted(await asyncio.gather(*moves)) == [False, False, False, False, True]
    assert [s for s, _ in (await stored(applications, new.id)).history] == ["queued", "accepted"]


async def test_a_callback_nonce_is_used_once(database):
    applications = database.applications
    nonce, now = uuid.uuid4().hex, datetime.now(UTC)
    uses = await asyncio.gather(*(applications.first_nonce_use(nonce, now) for _ in range(3)))
    assert sorted(uses) == [False, False, True]
    assert await applications.first_nonce_use("n" * 65, now) is False
    assert await applications.first_nonce_use("", now) is False


async def test_a_callback_moves_its_application_only_on_its_nonces_first_use(database):
    applications = database.applications
    new = await filed(applications)
    at = [new.at + timedelta(seconds=n) for n in range(1, 4)]
    take = applications.take_callback
    first = uuid.uuid4().hex
    assert await take(first, at[0], new.id, "accepted") == "moved"
    # The same nonce again, even with a status that would move it on: a replay, no change.
    assert await take(first, at[1], new.id, "completed", "330000-JSZ-9") == "replayed"
    assert await take(uuid.uuid4().hex, at[1], new.id, "accepted") == "kept"
    assert await take(uuid.uuid4().hex, at[2], new.id, "completed", "330000-JSZ-9") == "moved"
    done = await stored(applications, new.id)
    assert done.status == "completed" and done.result_certificate_id == "330000-JSZ-9"
    assert done.history == (("queued", new.at), ("accepted", at[0]), ("completed", at[2]))
    # A callback for nothing we hold uses its nonce all the same.
    for unknown in (str(uuid.uuid4()), "not-a-uuid"):
        nonce = uuid.uuid4().hex
        assert await take(nonce, at[0], unknown, "accepted") == "unknown"
        assert await take(nonce, at[0], unknown, "accepted") == "replayed"
    assert await take("n" * 65, at[0], new.id, "rejected") == "replayed"
    assert await take("", at[0], new.id, "rejected") == "replayed"
    assert (await stored(applications, new.id)).status == "completed"


async def test_racing_callbacks_with_one_nonce_move_a_status_once(database):
    applications = database.applications
    new = await filed(applications)
    nonce = uuid.uuid4().hex
    takes = [applications.take_callback(nonce, new.at, new.id, "accepted") for _ in range(4)]
    assert sorted(await asyncio.gather(*takes)) == ["moved", "replayed", "replayed", "replayed"]
    others = [
        applications.take_callback(uuid.uuid4().hex, new.at, new.id, "completed") for _ in range(4)
    ]
    assert sorted(await asyncio.gather(*others)) == ["kept", "kept", "kept", "moved"]
    history = [s for s, _ in (await stored(applications, new.id)).history]
    assert history == ["queued", "accepted", "completed"]


async def test_a_transaction_left_open_on_a_pooled_connection_is_rolled_back(pg_url):
    # The pool skips asyncpg's reset query (services.db.keep_session); asyncpg still ends
    # an open transaction before the connection serves anyone else.
    await apply_migrations(pg_url)
    await open_database(pg_url, 5)
    try:
        client = connections.get("default")
        marker = uuid.uuid4().hex
        async with client.acquire_connection() as raw:
            await raw.execute("BEGIN")
            await raw.execute(
                "INSERT INTO used_identity_token (jti, expires_at) VALUES ($1, now())", marker
            )
            # given back with the transaction open, as a cancelled request would leave it
        async with client.acquire_connection() as raw:
            assert not raw.is_in_transaction()
            count = "SELECT count(*) FROM used_identity_token WHERE jti = $1"
            assert await raw.fetchval(count, marker) == 0
    finally:
        await close_database()
