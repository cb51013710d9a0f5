"""Filing, replaying and moving applications on fakes: no database, no gateway."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import orjson
import pytest

from core.errors import (
    ApplicationNotFound,
    GatewayUnavailable,
    IdempotencyKeyInFlight,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InvalidRequest,
    InvalidSignature,
    ItemNotFound,
    ItemRequiresVisit,
    MaterialsMissing,
)
from services.applications import Applications, CallbackAuth, Filing
from services.applications.records import KeyRecord
from services.catalog import ItemView
from services.catalog.rules import MaterialView
from services.gateway import signing
from services.held import HeldCertificate
from services.holders import Holder, Holders
from tests.fakes import FakeApplicationRecords, FakeClock, FakeIdentities, certificate_id

ZHANG = ("user-zhang", "330402199001011230")
MISNUMBERED = "1.2.156.3005.2.JSZ.11330400002570581X.0000001.001.0"  # a wrong check character
AUTH = CallbackAuth("app-key", "app-secret")
NOW = 1_780_000_000.0
PATH = "/api/v1/gateway/callbacks"


def item(mode: str = "zero_trip") -> ItemView:
    return ItemView(
        code="JT001",
        name="驾驶证换证",
        department="公安局",
        category="交通",
        mode=mode,
        handheld=True,
        livelihood=True,
        secret=False,
        online=True,
        version=1,
        materials=(MaterialView("licence", "驾驶证", "certificate", "JSZ"),),
        guide_address="中山路 1 号",
        guide_hours="9:00-17:00",
    )


class FakeCatalog:
    def __init__(self) -> None:
        self.items = {"JT001": item()}

    async def current_item(self, code: str) -> ItemView:
        if code not in self.items:
            raise ItemNotFound()
        return self.items[code]


class FakeFacts:
    """The caller's certificates: remembered facts (None: none kept) and the library's list,
    each library read recorded in `calls` (it shows in the citizen's access log)."""

    def __init__(self, library: list[HeldCertificate]) -> None:
        self.library = library
        self.kept: list[HeldCertificate] | None = None
        self.down = False
        self.calls: list[str] = []

    async def remembered(self, user_id: str) -> list[HeldCertificate] | None:
        return self.kept

    async def gather(self, holder: Holder, request_id: str, purpose: str) -> list[HeldCertificate]:
        self.calls.append(purpose)
        await asyncio.sleep(0)  # a round trip: another filing may run meanwhile
        if self.down:
            raise GatewayUnavailable()
        self.kept = list(self.library)
        return self.kept


class World:
    def __init__(self, certificate_id: str) -> None:
        self.records = FakeApplicationRecords()
        self.catalog = FakeCatalog()
        self.facts = FakeFacts([HeldCertificate(certificate_id, "JSZ", "valid")])
        identities = FakeIdentities()
        identities.add(*ZHANG)
        self.woken: list[bool] = []
        self.clock = FakeClock(NOW)
        self.applications = Applications(
            self.records,
            self.catalog,
            self.facts,
            Holders(identities),
            AUTH,
            on_filed=lambda: self.woken.append(True),
            clock=self.clock,
        )

    async def file(self, key: str | None = "k-1", **body: Any):
        return await self.applications.file(ZHANG[0], key, Filing(**body), "req-1")

    def stored(self) -> int:
        return len(self.records.applications)


@pytest.fixture
def world() -> World:
    return World(certificate_id(1, "JSZ"))


def body_of(w: World, **more: object) -> dict:
    (held,) = w.facts.library
    return {
        "item_code": "JT001",
        "materials": {"licence": {"certificate_id": held.id}},
        **more,
    }


async def test_a_filing_stores_one_application_with_its_delivery_and_audit_line(world):
    filed = await world.file(**body_of(world))
    assert not filed.replayed and filed.application.status == "queued"
    assert filed.application.materials_verified is True
    assert world.stored() == 1 and len(world.records.outbox.rows) == 1
    (line,) = world.records.audit.calls
    assert (line["action"], line["actor"]) == ("application.file", "3304**********1230")
    assert world.woken == [True]  # the delivery loop goes at once
    assert world.facts.calls == ["办件材料核验"]


async def test_a_retry_with_the_same_key_and_body_gets_the_same_application_again(world):
    first = await world.file(**body_of(world))
    again = await world.file(**body_of(world))
    assert again.replayed and again.application == first.application
    assert world.stored() == 1 and len(world.records.outbox.rows) == 1
    assert world.woken == [True]


async def test_a_key_used_again_with_another_body_is_refused_and_stores_nothing(world):
    await world.file(**body_of(world))
    with pytest.raises(IdempotencyKeyReused):
        await world.file(**body_of(world, form={"备注": "另一份"}))
    assert world.stored() == 1


async def test_a_refused_filing_stores_nothing_and_its_key_files_once_the_body_is_fixed(world):
    with pytest.raises(MaterialsMissing) as refused:
        await world.file(item_code="JT001", materials={})
    assert refused.value.details["missing"] == ["licence"]
    assert world.stored() == 0 and world.records.keys == {}
    filed = await world.file(**body_of(world))
    assert not filed.replayed and world.stored() == 1


async def test_a_retry_is_answered_with_its_application_whatever_the_checks_say_now(world):
    first = await world.file(**body_of(world))
    world.catalog.items["JT001"] = item("in_person")  # ops switched it since
    again = await world.file(**body_of(world))
    assert again.replayed and again.application.id == first.application.id
    with pytest.raises(ItemRequiresVisit):  # a new filing is refused
        await world.file("k-2", **body_of(world))
    with pytest.raises(IdempotencyKeyReused):  # and so is another body on the old key
        await world.file(item_code="JT001", materials={})


async def test_a_retry_after_the_facts_expired_is_answered_without_a_library_read(world):
    first = await world.file(**body_of(world))
    world.facts.kept = None  # nothing remembered any more
    again = await world.file(**body_of(world))
    assert again.replayed and again.application.id == first.application.id
    assert world.facts.calls == ["办件材料核验"]  # only the first filing's


async def test_two_requests_with_one_new_key_at_once_make_one_application(world):
    first, second = await asyncio.gather(world.file(**body_of(world)), world.file(**body_of(world)))
    assert first.application.id == second.application.id
    assert sorted([first.replayed, second.replayed]) == [False, True]
    assert world.stored() == 1 and world.woken == [True]


async def test_while_the_library_is_down_the_filing_is_queued_unchecked(world):
    world.facts.down = True
    filed = await world.file(**body_of(world))
    assert filed.application.materials_verified is False and world.stored() == 1


async def test_a_key_held_mid_upgrade_by_the_previous_release_is_in_flight(world):
    from services.applications.rules import fingerprint

    print_ = fingerprint(Filing(**body_of(world)).as_dict())
    world.records.keys[(ZHANG[0], "k-1")] = KeyRecord(print_, None)
    with pytest.raises(IdempotencyKeyInFlight):
        await world.file(**body_of(world))
    assert world.stored() == 0


async def test_a_filing_without_a_usable_key_is_refused_before_anything_is_read(world):
    for key in (None, "", "带中文", "k" * 256):
        with pytest.raises(IdempotencyKeyRequired):
            await world.file(key, **body_of(world))
    assert world.records.calls == [] and world.facts.calls == []


def signed(payload: dict, nonce: str | None = None) -> tuple[bytes, dict[str, str]]:
    raw = orjson.dumps(payload)
    headers = signing.sign_headers(AUTH.app_key, AUTH.secret, "POST", PATH, raw, NOW)
    if nonce is not None:
        headers["X-Nonce"] = nonce
        headers["X-Signature"] = signing.signature(
            AUTH.secret, "POST", PATH, headers["X-Timestamp"], nonce, raw
        )
    return raw, {k.lower(): v for k, v in headers.items()}


async def test_a_callback_moves_the_application_on_once_and_only_forward(world):
    filed = (await world.file(**body_of(world))).application
    accept = world.applications.accept_callback
    raw, headers = signed({"idempotency_key": filed.id, "status": "accepted"}, nonce="n-1")
    assert await accept("POST", PATH, raw, headers) is True
    with pytest.raises(InvalidSignature):  # the same callback again: a replay
        await accept("POST", PATH, raw, headers)
    late = signed({"idempotency_key": filed.id, "status": "submitted"})
    assert await accept("POST", PATH, *late) is False
    done = signed(
        {"idempotency_key": filed.id, "status": "completed", "result_certificate_id": MISNUMBERED}
    )
    with pytest.raises(InvalidRequest):  # a result id whose check character is wrong
        await accept("POST", PATH, *done)
    now = await world.applications.get(ZHANG[0], filed.id)
    assert [s for s, _ in now.history] == ["queued", "accepted"]


async def test_a_callback_for_nothing_we_hold_or_with_a_bad_body_uses_its_nonce(world):
    accept = world.applications.accept_callback
    unknown = signed({"idempotency_key": "not-ours", "status": "accepted"}, nonce="n-2")
    with pytest.raises(ApplicationNotFound):
        await accept("POST", PATH, *unknown)
    garbled = signed({"status": 3}, nonce="n-3")
    with pytest.raises(InvalidRequest):
        await accept("POST", PATH, *garbled)
    with pytest.raises(InvalidSignature):
        await accept("POST", PATH, *garbled)
    forged = signed({"idempotency_key": "x", "status": "accepted"}, nonce="n-4")
    with pytest.raises(InvalidSignature):
        await accept("POST", PATH, forged[0] + b" ", forged[1])
    assert set(world.records.nonces) == {"n-2", "n-3"}


async def test_someone_elses_application_is_not_found(world):
    filed = (await world.file(**body_of(world))).application
    world.records.applications[filed.id] = replace(filed, user_id="someone-else")
    with pytest.raises(ApplicationNotFound):
        await world.applications.get(ZHANG[0], filed.id)
