"""Certificates on a fake gateway: seals checked, status computed, every access audited."""

from __future__ import annotations

import pytest

from core.errors import CertificateNotFound, GatewayTimeout
from services.certificates import PURPOSE_ONE_ID, Certificates
from services.holders import Holder
from services.issuers import IssuerSeals, issuer_key_cache
from tests.fakes import FakeAudit, FakeClock, FakeGateway, certificate_id

ZHANG = Holder("user-zhang", "330402199001011230", "3304**********1230")
LI = Holder("user-li", "330411198506152348", "3304**********2348")
# 2026-06-01, so the dates below are past, present or future on purpose.
JUNE_2026 = 1_780_272_000.0
C1, Z1, Z2, LI_1 = (certificate_id(n) for n in (1, 2, 3, 4))


def document(cert_id: str, **overrides: object) -> dict:
    return {
        "id": cert_id,
        "type_code": "111",
        "type_name": "居民身份证",
        "holder_name": "张三",
        "issued_on": "2020-01-01",
        "valid_from": "2020-01-01",
        "valid_until": "2030-01-01",
        "status": "valid",
        "fields": {"姓名": "张三", "公民身份号码": ZHANG.id_number},
        **overrides,
    }


def certificates(gateway: FakeGateway, audit: FakeAudit | None = None) -> Certificates:
    seals = IssuerSeals(issuer_key_cache(gateway.certificate_issuers, clock=FakeClock()))
    return Certificates(gateway, seals, audit or FakeAudit(), clock=FakeClock(JUNE_2026))


async def test_a_sealed_certificate_in_its_validity_is_valid_and_its_seal_holds():
    gateway = FakeGateway()
    gateway.hold(ZHANG.id_number, **document(C1))
    found = await certificates(gateway).read(ZHANG, C1, "req-1")
    assert (found.status, found.signature_valid, found.status_reason) == ("valid", True, "")
    assert found.fields["姓名"] == "张三"


async def test_a_document_changed_after_sealing_is_shown_revoked_never_valid():
    gateway = FakeGateway()
    sealed = gateway.hold(ZHANG.id_number, **document(C1))
    sealed["fields"]["姓名"] = "李四"
    found = await certificates(gateway).read(ZHANG, C1, "req-1")
    assert (found.status, found.signature_valid, found.status_reason) == (
        "revoked",
        False,
        "signature_invalid",
    )


async def test_a_certificate_past_its_date_is_expired_even_when_the_library_says_valid():
    gateway = FakeGateway()
    gateway.hold(ZHANG.id_number, **document(C1, valid_until="2026-05-31"))
    found = await certificates(gateway).read(ZHANG, C1, "req-1")
    assert (found.status, found.status_reason) == ("expired", "past_validity")


async def test_a_seal_by_an_issuer_nobody_published_fails():
    gateway = FakeGateway()
    sealed = gateway.hold(ZHANG.id_number, **document(C1))
    sealed["signature"]["kid"] = "an-issuer-nobody-knows"
    found = await certificates(gateway).read(ZHANG, C1, "req-1")
    assert not found.signature_valid and found.status == "revoked"


async def test_someone_elses_certificate_is_not_found_and_the_attempt_is_audited_as_denied():
    gateway, audit = FakeGateway(), FakeAudit()
    gateway.hold(LI.id_number, **document(LI_1))
    with pytest.raises(CertificateNotFound):
        await certificates(gateway, audit).read(ZHANG, LI_1, "req-2")
    [entry] = audit.calls
    assert (entry["action"], entry["outcome"], entry["reason"]) == (
        "certificate.read",
        "denied",
        "not_the_holders",
    )
    # Nobody's access log shows it: Li's certificate was not read.
    assert entry["subject_user_id"] is None


async def test_a_list_keeps_only_the_holders_documents_whatever_the_library_sends():
    gateway = FakeGateway()
    gateway.hold(ZHANG.id_number, **document(Z1))
    gateway.hold(ZHANG.id_number, **document(Z2, type_code="112"))

    async def leaky(holder_id_number: str, purpose: str) -> list[dict]:
        return [*gateway.certificates, {**document(LI_1), "holder_id_number": LI.id_number}]

    gateway.list_certificates = leaky  # type: ignore[method-assign]
    found = await certificates(gateway).list_for(ZHANG, "req-3")
    assert [c.id for c in found] == [Z1, Z2]


async def test_every_read_is_audited_with_its_purpose_and_the_holder_as_subject():
    gateway, audit = FakeGateway(), FakeAudit()
    gateway.hold(ZHANG.id_number, **document(Z1))
    await certificates(gateway, audit).list_for(ZHANG, "req-4", purpose=PURPOSE_ONE_ID)
    [entry] = audit.calls
    assert entry["action"] == "certificate.list"
    assert entry["purpose"] == PURPOSE_ONE_ID
    assert entry["subject_user_id"] == ZHANG.user_id
    assert entry["actor"] == ZHANG.id_number_masked
    assert ZHANG.id_number not in repr(audit.calls)
    assert gateway.calls_to("list_certificates") == [
        ("list_certificates", ZHANG.id_number, PURPOSE_ONE_ID)
    ]


async def test_issuer_keys_are_fetched_once_for_many_reads():
    gateway = FakeGateway()
    for n in range(5):
        gateway.hold(ZHANG.id_number, **document(certificate_id(10 + n)))
    service = certificates(gateway)
    for n in range(5):
        await service.read(ZHANG, certificate_id(10 + n), "req")
    assert len(gateway.calls_to("certificate_issuers")) == 1


async def test_a_gateway_failure_reaches_the_caller_and_nothing_is_audited_as_read():
    gateway, audit = FakeGateway(), FakeAudit()
    gateway.failure = GatewayTimeout()
    with pytest.raises(GatewayTimeout):
        await certificates(gateway, audit).list_for(ZHANG, "req-5")
    assert audit.calls == []
