"""Issuer seals of both families side by side, the memory of verified seals, and the
GB/T 36904 identifier check."""

from __future__ import annotations

import pytest

from core.errors import CertificateNotFound
from core.ids import is_certificate_id
from services.certificates import Certificates
from services.holders import Holder
from services.issuers import IssuerSeals, VerifiedSeals, issuer_key_cache
from tests.fakes import FakeAudit, FakeClock, FakeGateway, FakeSm2Issuer, certificate_id
from tests.fakes.services import FakeIssuer

ZHANG = Holder("user-zhang", "330402199001011230", "3304**********1230")
JUNE_2026 = 1_780_272_000.0
ED25519, SM2 = 0, 1


def mixed_gateway() -> FakeGateway:
    gateway = FakeGateway()
    gateway.issuers = [FakeIssuer(), FakeSm2Issuer()]
    return gateway


def document(cert_id: str, **overrides: object) -> dict:
    return {
        "id": cert_id,
        "type_code": "111",
        "type_name": "居民身份证",
        "holder_name": "张三",
        "valid_until": "2030-01-01",
        "status": "valid",
        "fields": {"姓名": "张三"},
        **overrides,
    }


def service(gateway: FakeGateway, seals: IssuerSeals | None = None) -> Certificates:
    seals = seals or IssuerSeals(issuer_key_cache(gateway.certificate_issuers, clock=FakeClock()))
    return Certificates(gateway, seals, FakeAudit(), clock=FakeClock(JUNE_2026))


async def test_sm2_and_ed25519_sealed_certificates_both_verify_in_one_library():
    gateway = mixed_gateway()
    gateway.hold(ZHANG.id_number, ED25519, **document(certificate_id(1)))
    gateway.hold(ZHANG.id_number, SM2, **document(certificate_id(2)))
    found = await service(gateway).list_for(ZHANG, "req")
    assert [(c.status, c.signature_valid) for c in found] == [("valid", True), ("valid", True)]


async def test_sm2_and_ed25519_sealed_certificates_both_fail_when_tampered():
    gateway = mixed_gateway()
    for family, serial in ((ED25519, 1), (SM2, 2)):
        sealed = gateway.hold(ZHANG.id_number, family, **document(certificate_id(serial)))
        sealed["fields"]["姓名"] = "李四"
    found = await service(gateway).list_for(ZHANG, "req")
    assert [(c.status, c.status_reason) for c in found] == [("revoked", "signature_invalid")] * 2


async def test_an_sm2_seal_claiming_another_algorithm_is_not_a_seal():
    gateway = mixed_gateway()
    sealed = gateway.hold(ZHANG.id_number, SM2, **document(certificate_id(1)))
    sealed["signature"]["alg"] = "EdDSA"
    [found] = await service(gateway).list_for(ZHANG, "req")
    assert not found.signature_valid and found.status == "revoked"


async def test_a_seal_checked_once_is_not_verified_again_on_the_next_read():
    gateway = mixed_gateway()
    cert = certificate_id(1)
    gateway.hold(ZHANG.id_number, SM2, **document(cert))
    seals = IssuerSeals(issuer_key_cache(gateway.certificate_issuers, clock=FakeClock()))
    certificates = service(gateway, seals)
    for _ in range(3):
        assert (await certificates.read(ZHANG, cert, "req")).signature_valid
    assert seals.verifications == 1 and seals.verified.hits == 2


async def test_a_failed_seal_is_checked_every_time_and_never_remembered_as_valid():
    gateway = mixed_gateway()
    cert = certificate_id(1)
    sealed = gateway.hold(ZHANG.id_number, SM2, **document(cert))
    sealed["fields"]["姓名"] = "李四"
    seals = IssuerSeals(issuer_key_cache(gateway.certificate_issuers, clock=FakeClock()))
    certificates = service(gateway, seals)
    for _ in range(3):
        assert not (await certificates.read(ZHANG, cert, "req")).signature_valid
    assert seals.verifications == 3 and len(seals.verified) == 0


async def test_a_remembered_document_changed_later_is_verified_again_and_fails():
    gateway = mixed_gateway()
    cert = certificate_id(1)
    sealed = gateway.hold(ZHANG.id_number, ED25519, **document(cert))
    seals = IssuerSeals(issuer_key_cache(gateway.certificate_issuers, clock=FakeClock()))
    certificates = service(gateway, seals)
    assert (await certificates.read(ZHANG, cert, "req")).signature_valid
    sealed["status"] = "valid"
    sealed["valid_until"] = "2099-01-01"
    assert not (await certificates.read(ZHANG, cert, "req")).signature_valid


def test_the_memory_of_verified_seals_keeps_only_the_most_recent():
    verified = VerifiedSeals(kept=2)
    a, b, c = ((bytes([n]), b"key", b"sig") for n in range(3))
    verified.remember(a)
    verified.remember(b)
    assert verified.holds(a)  # a is now the most recent
    verified.remember(c)
    assert verified.holds(a) and verified.holds(c) and not verified.holds(b)


def test_only_identifiers_whose_mod_37_36_check_character_verifies_are_accepted():
    good = "1.2.156.3005.2.111.11330400002570581X.0000001.001.F"
    assert is_certificate_id(good)
    assert not is_certificate_id(good[:-1] + "G")  # wrong check character
    assert not is_certificate_id(good.replace("0000001", "0000002"))  # a changed serial
    assert not is_certificate_id("1.2.156.3005.2.111.0000001.F")  # a part missing
    assert not is_certificate_id(good.lower())
    assert not is_certificate_id(None)
    # From a callback's JSON anything may come, unhashable too: refused, never a crash.
    assert not is_certificate_id([good]) and not is_certificate_id({"id": good})
    assert is_certificate_id(good) and not is_certificate_id(good[:-1] + "G")  # asked again


async def test_a_certificate_whose_identifier_does_not_verify_is_never_shown_valid():
    gateway = mixed_gateway()
    bad = certificate_id(1)[:-1] + ("A" if certificate_id(1)[-1] != "A" else "B")
    gateway.hold(ZHANG.id_number, SM2, **document(bad))
    [found] = await service(gateway).list_for(ZHANG, "req")
    assert found.signature_valid  # sealed as it is: only the identifier is wrong
    assert (found.status, found.status_reason) == ("revoked", "identifier_invalid")


async def test_asking_for_an_identifier_that_cannot_verify_never_reaches_the_library():
    gateway = mixed_gateway()
    bad = certificate_id(1)[:-1] + ("A" if certificate_id(1)[-1] != "A" else "B")
    certificates = service(gateway)
    with pytest.raises(CertificateNotFound):
        await certificates.read(ZHANG, bad, "req")
    assert gateway.calls_to("get_certificate") == []
