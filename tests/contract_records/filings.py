"""The contract of a filing's and a callback's one atomic write, and of reading them back."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.applications.records import KeyRecord, NewApplication
from services.applications.rules import ApplicationView
from tests.contract_records.backends import Backend

MASKED = "3304**********1230"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- filings --------------------------------------------------------------------------


def new_application(user_id: str, at: datetime | None = None) -> NewApplication:
    return NewApplication(
        id=str(uuid.uuid4()),
        user_id=user_id,
        item_code="HJ005",
        materials={"id_card": {"certificate_id": "330000-SFZ-1"}, "户口": {"upload_id": "u"}},
        form={"说明": "迁入", "count": 2},
        materials_verified=False,
        at=at or datetime.now(UTC),
        filed_by=MASKED,
        request_id="r-file",
    )


async def stored(backend: Backend, application_id: str) -> ApplicationView:
    found = await backend.records.applications.get(application_id)
    assert found is not None
    return found


async def filed(backend: Backend, user_id: str | None = None) -> NewApplication:
    new = new_application(user_id or str(uuid.uuid4()))
    assert await backend.records.applications.file_new(new, f"k-{new.id}", "fp") is not None
    return new


async def test_a_filing_stores_its_key_application_delivery_and_audit_line(backend):
    applications = backend.records.applications
    new = new_application(str(uuid.uuid4()))
    created = await applications.file_new(new, "k-1", "fp")
    assert created is not None and created == await stored(backend, new.id)
    assert (created.status, created.materials, created.form) == ("queued", new.materials, new.form)
    assert created.history == (("queued", new.at),) and created.materials_verified is False
    assert created.created_at == new.at
    (row,) = await backend.inspect.outbox_of(new.id)
    assert (row.state, row.attempts, row.claimed_by) == ("pending", 0, None)
    key = await applications.key(new.user_id, "k-1")
    assert key is not None and (key.fingerprint, key.application_id) == ("fp", new.id)
    (line,) = await backend.inspect.audit_lines(actor_user_id=new.user_id)
    assert (line["action"], line["target"], line["reason"]) == (
        "application.file",
        f"application:{new.id}",
        "HJ005",
    )
    assert (line["actor"], line["request_id"], line["outcome"]) == (MASKED, "r-file", "ok")


async def test_a_known_key_stores_nothing_and_still_names_its_first_application(backend):
    applications = backend.records.applications
    first = await filed(backend)
    again = new_application(first.user_id)
    assert await applications.file_new(again, f"k-{first.id}", "another body") is None
    assert await applications.get(again.id) is None
    assert await backend.inspect.outbox_of(again.id) == []
    assert len(await backend.inspect.audit_lines(actor_user_id=first.user_id)) == 1
    key = await applications.key_once_written(first.user_id, f"k-{first.id}")
    assert key is not None and (key.fingerprint, key.application_id) == ("fp", first.id)
    # Keys are per user: another's is unknown, and theirs to use.
    other = new_application(str(uuid.uuid4()))
    assert await applications.key(other.user_id, f"k-{first.id}") is None
    assert await applications.file_new(other, f"k-{first.id}", "fp") is not None


async def test_a_key_the_previous_release_claimed_is_in_flight_until_its_claim_lapses(backend):
    if backend.name == "fake":
        pytest.skip("only a database a previous release wrote to holds such keys")
    applications = backend.records.applications
    held, lapsed = new_application(str(uuid.uuid4())), new_application(str(uuid.uuid4()))
    await backend.inspect.claim_as_before(held.user_id, "k", "fp", held.at + timedelta(seconds=30))
    await backend.inspect.claim_as_before(
        lapsed.user_id, "k", "old", lapsed.at - timedelta(seconds=1)
    )
    assert await applications.key(held.user_id, "k") == KeyRecord("fp", None)
    assert await applications.file_new(held, "k", "fp") is None  # it may yet file
    assert await applications.get(held.id) is None
    assert await applications.key(lapsed.user_id, "k") is None  # it names nothing now
    assert await applications.file_new(lapsed, "k", "fp") is not None
    assert await applications.key(lapsed.user_id, "k") == KeyRecord("fp", lapsed.id)
    assert len(await backend.inspect.outbox_of(lapsed.id)) == 1


async def test_racing_filings_with_one_new_key_make_one_application(backend):
    applications = backend.records.applications
    user = str(uuid.uuid4())
    news = [new_application(user) for _ in range(5)]
    results = await asyncio.gather(*(applications.file_new(n, "k-race", "fp") for n in news))
    made = [r for r in results if r is not None]
    assert len(made) == 1
    assert [await applications.get(n.id) is not None for n in news].count(True) == 1
    assert len(await backend.inspect.outbox_of(made[0].id)) == 1
    assert len(await backend.inspect.audit_lines(actor_user_id=user)) == 1
    key = await applications.key(user, "k-race")
    assert key is not None and key.application_id == made[0].id


async def test_a_page_of_applications_is_newest_first_and_goes_on_after_its_cursor(backend):
    applications, user, at = backend.records.applications, str(uuid.uuid4()), now()
    news = [new_application(user, at + timedelta(seconds=n // 2)) for n in range(5)]
    for new in news:
        await applications.file_new(new, f"k-{new.id}", "fp")
    await filed(backend)  # someone else's
    expected = sorted(news, key=lambda n: (n.at, n.id), reverse=True)
    first = await applications.page_of(user, None, 3)
    assert [a.id for a in first] == [n.id for n in expected[:3]]
    rest = await applications.page_of(user, (first[-1].created_at, first[-1].id), 3)
    assert [a.id for a in rest] == [n.id for n in expected[3:]]
    assert await applications.get(str(uuid.uuid4())) is None
    assert await applications.get("not-a-uuid") is None


# --- callbacks ------------------------------------------------------------------------


async def test_a_callback_moves_its_application_only_forward_and_only_on_its_nonces_first_use(
    backend,
):
    applications = backend.records.applications
    new = await filed(backend)
    at = [new.at + timedelta(seconds=n) for n in range(1, 5)]
    take = applications.take_callback
    first = uuid.uuid4().hex
    assert await take(first, at[0], new.id, "accepted") == "moved"
    # The same nonce again, even with a status that would move it on: a replay, no change.
    assert await take(first, at[1], new.id, "completed", "330000-JSZ-9") == "replayed"
    assert await take(uuid.uuid4().hex, at[1], new.id, "accepted") == "kept"  # repeated
    assert await take(uuid.uuid4().hex, at[1], new.id, "submitted") == "kept"  # late
    assert await take(uuid.uuid4().hex, at[2], new.id, "completed", "330000-JSZ-9") == "moved"
    assert await take(uuid.uuid4().hex, at[3], new.id, "rejected") == "kept"  # final
    done = await stored(backend, new.id)
    assert done.status == "completed" and done.result_certificate_id == "330000-JSZ-9"
    assert done.history == (("queued", new.at), ("accepted", at[0]), ("completed", at[2]))
    assert await applications.completed_count() >= 1
    # A callback for nothing we hold uses its nonce all the same.
    for unknown in (str(uuid.uuid4()), "not-a-uuid"):
        nonce = uuid.uuid4().hex
        assert await take(nonce, at[0], unknown, "accepted") == "unknown"
        assert await take(nonce, at[0], unknown, "accepted") == "replayed"
    # A nonce no column could keep is never a first use.
    assert await take("n" * 65, at[0], new.id, "rejected") == "replayed"
    assert await take("", at[0], new.id, "rejected") == "replayed"
    assert (await stored(backend, new.id)).status == "completed"


async def test_racing_callbacks_with_one_nonce_move_a_status_once(backend):
    applications = backend.records.applications
    new = await filed(backend)
    nonce = uuid.uuid4().hex
    takes = [applications.take_callback(nonce, new.at, new.id, "accepted") for _ in range(4)]
    assert sorted(await asyncio.gather(*takes)) == ["moved", "replayed", "replayed", "replayed"]
    others = [
        applications.take_callback(uuid.uuid4().hex, new.at, new.id, "completed") for _ in range(4)
    ]
    assert sorted(await asyncio.gather(*others)) == ["kept", "kept", "kept", "moved"]
    history = [s for s, _ in (await stored(backend, new.id)).history]
    assert history == ["queued", "accepted", "completed"]


async def test_a_callback_nonce_is_used_once_and_forgotten_after_its_window(backend):
    applications = backend.records.applications
    nonce, at = uuid.uuid4().hex, now()
    uses = await asyncio.gather(*(applications.first_nonce_use(nonce, at) for _ in range(3)))
    assert sorted(uses) == [False, False, True]
    assert await applications.first_nonce_use("n" * 65, at) is False
    assert await applications.first_nonce_use("", at) is False
    await applications.forget_nonces(at)  # kept: not seen before `at`
    assert await applications.first_nonce_use(nonce, at) is False
    await applications.forget_nonces(at + timedelta(seconds=1))
    assert await applications.first_nonce_use(nonce, at) is True
