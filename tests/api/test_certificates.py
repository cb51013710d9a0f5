"""Electronic certificates: retrieval, signatures, status, ownership, assurance, the ledger,
and a slow or absent gateway."""

from __future__ import annotations

import asyncio

import pytest

from store.models import AuditEntry
from tests.auth_helpers import LI, ZHANG, bearer, catalog_ready, login, ops_login


@pytest.fixture
async def zhang(stack):
    stack.tokens = await login(stack, ZHANG)
    return stack


async def certificates(stack, tokens) -> list[dict]:
    response = await stack.client.get(
        "/api/v1/me/certificates", params={"limit": 100}, headers=bearer(tokens)
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_zhang_san_sees_his_certificates_with_computed_status(zhang):
    found = await certificates(zhang, zhang.tokens)
    valid = {c["name"] for c in found if c["status"] == "valid"}
    assert {
        "居民身份证",
        "居民户口簿",
        "结婚证",
        "不动产权证书",
        "社会保障卡",
        "机动车驾驶证",
    } <= valid
    assert {c["status"] for c in found} == {"valid", "expired", "revoked"}
    card = next(c for c in found if c["name"] == "居民身份证")
    assert set(card) >= {"id", "type", "name", "issuer", "issued_at", "expires_at", "status"}
    assert card["issued_at"].endswith("Z") and card["issuer"] == "嘉兴市公安局"


async def test_one_certificate_shows_its_fields_and_a_checked_signature(zhang):
    card = next(c for c in await certificates(zhang, zhang.tokens) if c["type"] == "111")
    response = await zhang.client.get(
        f"/api/v1/me/certificates/{card['id']}", headers=bearer(zhang.tokens)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["signature_valid"] is True and body["status"] == "valid"
    # The citizen's own certificate is the one place the full number may appear.
    assert body["fields"]["id_number"] == ZHANG[0]


async def test_someone_elses_certificate_is_404_like_a_missing_one_and_is_logged(zhang):
    li = await login(zhang, LI)
    theirs = (await certificates(zhang, li))[0]["id"]
    other = await zhang.client.get(
        f"/api/v1/me/certificates/{theirs}", headers=bearer(zhang.tokens)
    )
    guessed = await zhang.client.get(
        "/api/v1/me/certificates/1.2.156.3005.2.111.X.0000001.001.Z", headers=bearer(zhang.tokens)
    )
    assert other.status_code == guessed.status_code == 404
    assert (
        other.json()["error"]["code"]
        == guessed.json()["error"]["code"]
        == ("certificate_not_found")
    )
    assert other.json()["error"]["message"] == guessed.json()["error"]["message"]
    denied = await AuditEntry.filter(action="certificate.read", outcome="denied").count()
    assert denied == 2


async def test_a_forged_certificate_from_the_gateway_is_never_shown_as_valid(zhang):
    card = next(c for c in await certificates(zhang, zhang.tokens) if c["type"] == "112")
    await zhang.gateway.post("/_admin/certificates/tamper", json={"certificate_id": card["id"]})
    detail = (
        await zhang.client.get(
            f"/api/v1/me/certificates/{card['id']}", headers=bearer(zhang.tokens)
        )
    ).json()
    assert detail["signature_valid"] is False
    assert detail["status"] != "valid"
    listed = next(c for c in await certificates(zhang, zhang.tokens) if c["id"] == card["id"])
    assert listed["status"] != "valid"


async def test_sm2_and_ed25519_sealed_certificates_are_both_valid_and_both_refused_when_forged(
    zhang,
):
    # 112 (居民户口簿) is sealed by 嘉兴市公安局 with SM2, 116 (驾驶证) by the traffic police
    # with Ed25519 (mock_gateway/data/issuers.json).
    found = await certificates(zhang, zhang.tokens)
    sm2 = next(c for c in found if c["type"] == "112" and c["status"] == "valid")
    ed25519 = next(c for c in found if c["type"] == "116" and c["status"] == "valid")
    for card in (sm2, ed25519):
        path = f"/api/v1/me/certificates/{card['id']}"
        before = (await zhang.client.get(path, headers=bearer(zhang.tokens))).json()
        assert (before["status"], before["signature_valid"]) == ("valid", True)
        await zhang.gateway.post("/_admin/certificates/tamper", json={"certificate_id": card["id"]})
        after = (await zhang.client.get(path, headers=bearer(zhang.tokens))).json()
        assert (after["status"], after["signature_valid"]) == ("revoked", False)
        assert after["status_reason"] == "signature_invalid"


async def test_a_certificate_served_under_an_identifier_that_does_not_verify_is_never_valid(zhang):
    card = next(c for c in await certificates(zhang, zhang.tokens) if c["type"] == "113")
    answer = await zhang.gateway.post(
        "/_admin/certificates/tamper", json={"certificate_id": card["id"], "part": "identifier"}
    )
    wrong = answer.json()["tampered"]
    listed = next(c for c in await certificates(zhang, zhang.tokens) if c["id"] == wrong)
    assert listed["status"] == "revoked"
    # Asked for by that identifier, it is not found: the check character cannot verify.
    response = await zhang.client.get(
        f"/api/v1/me/certificates/{wrong}", headers=bearer(zhang.tokens)
    )
    assert response.status_code == 404


async def test_an_sms_login_may_not_read_certificates(stack):
    sms = await login(stack, ZHANG, assurance="sms")
    for path in ("/api/v1/me/certificates", "/api/v1/me/certificates/x"):
        response = await stack.client.get(path, headers=bearer(sms))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "assurance_too_low"


async def test_each_list_and_read_is_in_the_citizens_access_log_with_its_purpose(zhang):
    card = (await certificates(zhang, zhang.tokens))[0]
    await zhang.client.get(f"/api/v1/me/certificates/{card['id']}", headers=bearer(zhang.tokens))
    log = (await zhang.client.get("/api/v1/me/access-log", headers=bearer(zhang.tokens))).json()
    actions = [(e["action"], e["purpose"]) for e in log["items"]]
    assert ("certificate.read", "本人查看电子证照") in actions
    assert ("certificate.list", "本人查看电子证照") in actions
    assert all(ZHANG[0] not in str(e) for e in log["items"])
    li = await login(zhang, LI)
    theirs = (await zhang.client.get("/api/v1/me/access-log", headers=bearer(li))).json()
    assert all(e["target"] != f"certificate:{card['id']}" for e in theirs["items"])


async def test_a_down_gateway_is_a_clear_503_with_retry_after(zhang):
    await zhang.gateway.put("/_admin/faults", json={"down": True})
    for path in ("/api/v1/me/certificates", "/api/v1/me/one-id-items"):
        response = await zhang.client.get(path, headers=bearer(zhang.tokens))
        assert response.status_code == 503, path
        assert response.json()["error"]["code"] == "gateway_unavailable"
        assert int(response.headers["retry-after"]) >= 1


async def test_once_the_breaker_is_open_answers_come_without_asking_the_gateway(zhang):
    await zhang.gateway.put("/_admin/faults", json={"down": True})
    for _ in range(3):
        await zhang.client.get("/api/v1/me/certificates", headers=bearer(zhang.tokens))
    assert zhang.app.ctx.container.gateway.breaker.state == "open"
    await zhang.gateway.put("/_admin/faults", json={"down": False, "latency_ms": 5000})
    import time

    started = time.perf_counter()
    response = await zhang.client.get("/api/v1/me/certificates", headers=bearer(zhang.tokens))
    assert response.status_code == 503
    assert time.perf_counter() - started < 0.5  # the 5 s gateway was never called


async def test_a_slow_gateway_within_the_timeout_still_answers(zhang):
    await zhang.gateway.put("/_admin/faults", json={"latency_ms": 300})
    assert len(await certificates(zhang, zhang.tokens)) >= 6


async def test_a_gateway_slower_than_the_timeout_is_a_503_not_a_hang(tmp_path):
    from store.db import apply_migrations
    from tests.conftest import backend_with_gateway, make_settings

    settings = make_settings(tmp_path, gateway_timeout_seconds=0.2)
    await apply_migrations(settings.database_url)
    async with backend_with_gateway(settings) as stack:
        tokens = await login(stack, ZHANG)
        await stack.gateway.put("/_admin/faults", json={"latency_ms": 4000})
        response = await stack.client.get("/api/v1/me/certificates", headers=bearer(tokens))
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "gateway_timeout"


async def test_every_answer_to_a_signed_in_caller_is_marked_no_store(stack):
    await catalog_ready(stack)
    citizen = await login(stack)
    ops = await ops_login(stack)
    for path, who in [
        ("/api/v1/me", citizen),
        ("/api/v1/me/certificates", citizen),
        ("/api/v1/me/access-log", citizen),
        ("/api/v1/me/one-id-items", citizen),
        ("/api/v1/applications", citizen),
        ("/api/v1/ops/items", ops),
        ("/api/v1/ops/audit", ops),
        ("/api/v1/ops/kpis", ops),
        ("/api/v1/ops/outbox", ops),
    ]:
        answer = await stack.client.get(path, headers=bearer(who))
        assert answer.status_code == 200, path
        assert answer.headers["cache-control"] == "no-store", path


async def test_concurrent_first_reads_on_a_fresh_instance_share_one_issuer_key_fetch(stack):
    tokens = await login(stack)
    # The id straight from the library: no certificate has been read through this instance.
    cert_id = stack.gateway_app.ctx.library.by_holder[ZHANG[0]][0]
    keys = stack.app.ctx.container.certificates.seals.keys
    assert keys.fetches == 0
    answers = await asyncio.gather(
        *(
            stack.client.get(f"/api/v1/me/certificates/{cert_id}", headers=bearer(tokens))
            for _ in range(6)
        )
    )
    assert [a.status_code for a in answers] == [200] * 6
    assert keys.fetches == 1
