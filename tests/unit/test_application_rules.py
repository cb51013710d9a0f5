"""Which materials a filing satisfies, and how status moves: pure rules, no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime

from mock_gateway.certificates import identifier
from services.applications.rules import check_materials, fingerprint, moves_forward
from services.catalog import ItemView, MaterialView
from services.certificates import CertificateView
from services.uploads.rules import UploadView

ID_CARD = MaterialView("id_card", "居民身份证", "certificate", "111")
REGISTER = MaterialView("household_register", "居民户口簿", "certificate", "112")
PHOTO = MaterialView("photo", "照片", "upload", None)
# GB/T 36904 identifiers whose check characters verify.
C1, C2, C9 = (identifier("111", "11330400002570581X", serial) for serial in (1, 2, 9))


def item(*materials: MaterialView) -> ItemView:
    return ItemView(
        code="HJ003",
        name="居民身份证换领",
        department="公安局",
        category="户籍",
        mode="one_trip",
        handheld=True,
        livelihood=True,
        secret=False,
        online=True,
        version=1,
        materials=materials,
        guide_address="",
        guide_hours="",
    )


def cert(cert_id: str, type_code: str, status: str = "valid") -> CertificateView:
    return CertificateView(
        id=cert_id,
        type=type_code,
        name="",
        issuer="",
        issuer_code="",
        holder_name="张三",
        issued_on=date(2020, 1, 1),
        valid_until=None,
        status=status,
        status_reason="",
        signature_valid=True,
        fields={},
    )


def Upload(kind: str, flagged: bool = False) -> UploadView:  # noqa: N802 - reads as a value
    return UploadView(
        id="u",
        user_id="user-zhang",
        kind=kind,
        media_type="image/png",
        size=1,
        flagged=flagged,
        flag_reason="id_number_mismatch" if flagged else "",
        ocr=None,
        created_at=datetime.now(UTC),
    )


def problems(*args) -> dict[str, str]:
    return {p.code: p.problem for p in check_materials(*args)}


def test_every_material_given_and_valid_leaves_nothing_missing():
    given = {"id_card": {"certificate_id": C1}, "photo": {"upload_id": "u1"}}
    assert problems(item(ID_CARD, PHOTO), given, [cert(C1, "111")], {"u1": Upload("photo")}) == {}


def test_an_expired_or_revoked_certificate_does_not_count():
    given = {"id_card": {"certificate_id": C1}, "household_register": {"certificate_id": C2}}
    found = problems(
        item(ID_CARD, REGISTER),
        given,
        [cert(C1, "111", "expired"), cert(C2, "112", "revoked")],
        {},
    )
    assert found == {"id_card": "certificate_expired", "household_register": "certificate_revoked"}


def test_a_material_the_item_does_not_ask_for_is_refused():
    given = {"id_card": {"certificate_id": C1}, "passport": {"certificate_id": C9}}
    assert problems(item(ID_CARD), given, [cert(C1, "111")], {}) == {
        "passport": "not_a_material_of_this_item"
    }


def test_without_the_library_certificates_are_left_to_the_gateway_but_must_be_named():
    assert problems(item(ID_CARD), {"id_card": {"certificate_id": C1}}, None, {}) == {}
    assert problems(item(ID_CARD), {}, None, {}) == {"id_card": "missing"}


def test_an_id_card_photo_stands_in_for_the_id_card_unless_ocr_flagged_it():
    given = {"id_card": {"upload_id": "u1"}}
    assert problems(item(ID_CARD), given, [], {"u1": Upload("id_card")}) == {}
    assert problems(item(ID_CARD), given, [], {"u1": Upload("id_card", flagged=True)}) == {
        "id_card": "upload_flagged"
    }
    assert problems(
        item(REGISTER), {"household_register": {"upload_id": "u1"}}, [], {"u1": Upload("id_card")}
    ) == {"household_register": "needs_a_certificate"}


def test_someone_elses_upload_is_not_found():
    assert problems(item(PHOTO), {"photo": {"upload_id": "theirs"}}, [], {}) == {
        "photo": "upload_not_found"
    }


def test_status_only_moves_forward_and_never_out_of_a_final_one():
    assert moves_forward("queued", "accepted")
    assert not moves_forward("accepted", "submitted")
    assert not moves_forward("accepted", "accepted")
    assert not moves_forward("completed", "rejected")
    assert not moves_forward("queued", "lost")


def test_the_fingerprint_ignores_key_order_but_not_content():
    assert fingerprint({"a": 1, "b": {"c": 2, "d": 3}}) == fingerprint(
        {"b": {"d": 3, "c": 2}, "a": 1}
    )
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_an_identifier_whose_check_character_fails_is_refused_even_unchecked_by_the_library():
    wrong = C1[:-1] + ("0" if C1[-1] != "0" else "1")
    given = {"id_card": {"certificate_id": wrong}}
    for certificates in ([cert(C1, "111")], None):
        assert problems(item(ID_CARD), given, certificates, {}) == {
            "id_card": "certificate_id_invalid"
        }
