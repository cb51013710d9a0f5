"""亮证 on fakes: what a verifier learns, and what it must never learn."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from core.errors import Conflict, InvalidRequest
from services.certificates import Certificates
from services.holders import Holders
from services.issuers import IssuerSeals, issuer_key_cache
from services.presentations import Presentations
from tests.fakes import (
    FakeAudit,
    FakeClock,
    FakeGateway,
    FakeIdentities,
    FakePresentationRecords,
    certificate_id,
)

ZHANG_ID = "330402199001011230"
ID_CARD = certificate_id(1)


class World:
    def __init__(self) -> None:
        # Tokens are checked by pyjwt against the real time, so the fake clock starts there.
        self.clock = FakeClock(time.time())
        self.gateway, self.audit = FakeGateway(), FakeAudit()
        self.identities, self.records = FakeIdentities(), FakePresentationRecords()
        self.identities.add("user-zhang", ZHANG_ID)
        seals = IssuerSeals(issuer_key_cache(self.gateway.certificate_issuers, clock=self.clock))
        certificates = Certificates(self.gateway, seals, self.audit, clock=self.clock)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.holders = Holders(self.identities, clock=self.clock)
        self.presentations = Presentations(
            certificates,
            self.holders,
            self.records,
            self.audit,
            private_key=self.key,
            public_key=self.key.public_key(),
            kid="k1",
            clock=self.clock,
        )
        self.certificate = self.gateway.hold(
            ZHANG_ID,
            id=ID_CARD,
            type_code="111",
            type_name="居民身份证",
            holder_name="张三",
            issued_on="2020-01-01",
            valid_from="2020-01-01",
            valid_until="2040-01-01",
            status="valid",
            fields={"姓名": "张三", "公民身份号码": ZHANG_ID, "住址": "南湖区"},
        )

    async def present(self, fields: list[str], ttl: int = 300) -> str:
        holder = await self.holders.of_user("user-zhang")
        return (await self.presentations.present(holder, ID_CARD, fields, ttl, "req")).token


async def test_a_verifier_sees_only_the_chosen_fields_and_a_masked_name():
    world = World()
    token = await world.present(["姓名"])
    answer = await world.presentations.verify(token, "verifier", "req-v")
    assert answer["valid"] is True
    assert answer["certificate"]["fields"] == {"姓名": "张三"}
    assert answer["certificate"]["holder_name"] == "张*"
    assert ZHANG_ID not in token and ZHANG_ID not in repr(answer)


async def test_a_presentation_is_recorded_and_each_check_lands_in_the_holders_access_log():
    world = World()
    token = await world.present([])
    assert len(world.records.records) == 1
    await world.presentations.verify(token, "verifier", "req-v")
    verify = [c for c in world.audit.calls if c["action"] == "certificate.verify"]
    assert [(c["subject_user_id"], c["outcome"]) for c in verify] == [("user-zhang", "ok")]


async def test_a_certificate_revoked_after_presenting_fails_the_next_check():
    world = World()
    token = await world.present(["姓名"])
    world.certificate["status"] = "revoked"
    answer = await world.presentations.verify(token, "verifier", "req-v")
    assert answer == {"valid": False, "reason": "certificate_revoked"}


async def test_a_changed_token_is_reported_as_tampered():
    world = World()
    token = await world.present(["姓名"])
    header, payload, signature = token.split(".")
    other = jwt.encode(
        {
            "typ": "presentation",
            "jti": "x",
            "iat": 1,
            "exp": 2**31,
            "cid": ID_CARD,
            "f": {"公民身份号码": ZHANG_ID},
        },
        "k" * 32,
        algorithm="HS256",
    )
    forged = ".".join([header, other.split(".")[1], signature])
    answer = await world.presentations.verify(forged, "verifier", "req-v")
    assert answer == {"valid": False, "reason": "tampered"}


async def test_a_presentation_whose_holder_is_gone_is_unknown_not_a_login_error():
    world = World()
    token = await world.present([])
    world.identities.people.clear()
    world.clock.advance(world.holders.ttl_seconds)  # what a process remembered has aged out
    answer = await world.presentations.verify(token, "verifier", "req-v")
    assert answer == {"valid": False, "reason": "unknown_presentation"}


async def test_a_revoked_certificate_cannot_be_presented_and_nothing_is_recorded():
    world = World()
    world.certificate["status"] = "revoked"
    with pytest.raises(Conflict):
        await world.present(["姓名"])
    assert world.records.records == {}


@pytest.mark.parametrize("ttl", [59, 601])
async def test_a_lifetime_outside_one_to_ten_minutes_is_refused_before_the_library_is_asked(ttl):
    world = World()
    with pytest.raises(InvalidRequest):
        await world.present([], ttl=ttl)
    assert world.gateway.calls_to("get_certificate") == []
    assert world.records.records == {}


async def test_a_field_the_certificate_does_not_have_is_refused():
    world = World()
    with pytest.raises(InvalidRequest) as refused:
        await world.present(["血型"])
    assert refused.value.details["fields"] == [{"field": "fields", "problem": "unknown: 血型"}]
    assert world.records.records == {}


async def test_a_refused_presentation_is_audited_as_refused_not_as_shown():
    world = World()
    with pytest.raises(InvalidRequest):
        await world.present(["血型"])
    [entry] = [c for c in world.audit.calls if c["action"] == "certificate.present"]
    assert (entry["outcome"], entry["reason"]) == ("refused", "invalid_request")
    world.certificate["status"] = "revoked"
    with pytest.raises(Conflict):
        await world.present([])
    assert [c["outcome"] for c in world.audit.calls if c["action"] == "certificate.present"] == [
        "refused",
        "refused",
    ]


async def test_unknown_field_names_are_echoed_briefly_whatever_their_size():
    world = World()
    with pytest.raises(InvalidRequest) as refused:
        await world.present([f"字段{n}" * 100 for n in range(20)])
    problems = refused.value.details["fields"]
    assert isinstance(problems, list) and len(problems) == 5
    assert all(len(p["problem"]) <= len("unknown: ") + 32 for p in problems)
