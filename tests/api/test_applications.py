"""Filing applications from the phone: once, never twice, delivered even through outages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.applications.rules import fingerprint
from services.held import HeldCertificate
from store.models import Application, AuditEntry, IdempotencyRecord, OutboxRow
from tests.api.test_uploads import send
from tests.auth_helpers import LI, bearer, catalog_ready, login, ops_login
from tests.certificate_ids import misnumbered
from tests.upload_samples import id_card_png, png

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def zhang(stack):
    await catalog_ready(stack)
    stack.tokens = await login(stack)
    return stack


async def certificate_ids(stack, tokens) -> dict[str, str]:
    """The caller's valid certificates by type code."""
    listed = await stack.client.get("/api/v1/me/certificates", headers=bearer(tokens))
    assert listed.status_code == 200, listed.text
    found: dict[str, str] = {}
    for c in listed.json()["items"]:
        if c["status"] == "valid":
            found.setdefault(c["type"], c["id"])
    return found


async def materials_for(stack, tokens, code: str) -> dict:
    item = (await stack.client.get(f"/api/v1/items/{code}")).json()
    held = await certificate_ids(stack, tokens)
    return {
        m["code"]: {"certificate_id": held[m["certificate_type"]]}
        for m in item["materials"]
        if m["source"] == "certificate"
    }


async def file(stack, tokens, body: dict, key: str | None = "k-1"):
    headers = bearer(tokens) | ({"idempotency-key": key} if key is not None else {})
    return await stack.client.post("/api/v1/applications", json=body, headers=headers)


async def until_status(stack, tokens, application_id: str, *wanted: str) -> dict:
    """Polls until the application reaches a wanted status; generous, for a loaded CI machine."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        got = await stack.client.get(
            f"/api/v1/applications/{application_id}", headers=bearer(tokens)
        )
        if got.json()["status"] in wanted:
            return got.json()
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {got.json()['status']}, wanted {wanted}")
        await asyncio.sleep(0.02)


async def test_an_application_is_queued_at_once_then_delivered_and_completed(zhang):
    body = {"item_code": "HJ005", "materials": await materials_for(zhang, zhang.tokens, "HJ005")}
    answer = await file(zhang, zhang.tokens, body)
    assert answer.status_code == 202, answer.text
    filed = answer.json()
    assert filed["status"] == "queued" and filed["item_code"] == "HJ005"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["location"] == f"/api/v1/applications/{filed['id']}"
    done = await until_status(zhang, zhang.tokens, filed["id"], "completed")
    statuses = [h["status"] for h in done["history"]]
    assert statuses[0] == "queued" and statuses[-1] == "completed"
    assert statuses == sorted(statuses, key=["queued", "submitted", "accepted", "completed"].index)
    intake = zhang.gateway_app.ctx.intake
    assert len(intake.by_id) == 1


async def test_the_same_key_and_body_give_back_the_same_application_and_one_at_the_gateway(zhang):
    body = {"item_code": "HJ005", "materials": await materials_for(zhang, zhang.tokens, "HJ005")}
    first = await file(zhang, zhang.tokens, body)
    again = await file(zhang, zhang.tokens, body)
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    await until_status(zhang, zhang.tokens, first.json()["id"], "completed")
    assert len(zhang.gateway_app.ctx.intake.by_id) == 1
    assert await Application.all().count() == 1


async def test_a_retry_of_a_filing_that_went_through_gets_it_back_though_refused_now(zhang):
    body = {"item_code": "HJ005", "materials": await materials_for(zhang, zhang.tokens, "HJ005")}
    first = await file(zhang, zhang.tokens, body)
    assert first.status_code == 202
    ops = await ops_login(zhang)
    switched = await zhang.client.put(
        "/api/v1/ops/items/HJ005/mode",
        headers={**bearer(ops), "if-match": "1"},
        json={"mode": "in_person", "reason": "系统维护，暂停网办"},
    )
    assert switched.status_code == 200, switched.text
    again = await file(zhang, zhang.tokens, body)  # the phone never heard the first answer
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = await file(zhang, zhang.tokens, body, key="k-2")  # a new filing is refused
    assert other.status_code == 409 and other.json()["error"]["code"] == "item_requires_visit"
    reused = await file(zhang, zhang.tokens, {**body, "form": {"备注": "另一份"}})
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert await Application.all().count() == 1


async def test_the_same_key_with_another_body_is_refused(zhang):
    body = {"item_code": "HJ005", "materials": await materials_for(zhang, zhang.tokens, "HJ005")}
    await file(zhang, zhang.tokens, body)
    other = await file(zhang, zhang.tokens, {**body, "form": {"备注": "另一份"}})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_the_same_key_of_another_user_is_another_application(zhang):
    body = {"item_code": "HJ005", "materials": await materials_for(zhang, zhang.tokens, "HJ005")}
    li = await login(zhang, LI)
    mine = await file(zhang, zhang.tokens, body)
    theirs = await file(
        zhang, li, {"item_code": "HJ005", "materials": await materials_for(zhang, li, "HJ005")}
    )
    assert mine.status_code == theirs.status_code == 202
    assert mine.json()["id"] != theirs.json()["id"]


async def test_two_identical_requests_at_once_never_make_two_applications(zhang):
    body = {"item_code": "HJ005", "materials": await materials_for(zhang, zhang.tokens, "HJ005")}
    answers = await asyncio.gather(*(file(zhang, zhang.tokens, body) for _ in range(5)))
    accepted = {a.json()["id"] for a in answers if a.status_code == 202}
    refused = [a for a in answers if a.status_code != 202]
    assert len(accepted) == 1
    assert all(a.status_code == 409 for a in refused)
    assert all(a.json()["error"]["code"] == "idempotency_key_in_flight" for a in refused)
    assert all("retry-after" in a.headers for a in refused)
    assert await Application.all().count() == 1


async def test_an_application_without_an_idempotency_key_is_refused_and_nothing_stored(zhang):
    answer = await file(zhang, zhang.tokens, {"item_code": "HJ005"}, key=None)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "idempotency_key_required"
    assert await Application.all().count() == 0


async def test_an_in_person_item_answers_with_its_guide(zhang):
    answer = await file(zhang, zhang.tokens, {"item_code": "HY001"})
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "item_requires_visit"
    assert error["guide"]["address"] and "id_card" in error["guide"]["bring"]
    assert await IdempotencyRecord.all().count() == 0


async def test_missing_materials_are_listed_and_the_key_can_be_used_again_once_fixed(zhang):
    complete = await materials_for(zhang, zhang.tokens, "HJ005")
    partial = {k: v for k, v in complete.items() if k == "id_card"}
    refused = await file(zhang, zhang.tokens, {"item_code": "HJ005", "materials": partial})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "materials_missing"
    assert error["missing"] == ["household_register"]
    assert await Application.all().count() == 0 and await OutboxRow.all().count() == 0
    fixed = await file(zhang, zhang.tokens, {"item_code": "HJ005", "materials": complete})
    assert fixed.status_code == 202


async def test_someone_elses_or_a_wrong_type_of_certificate_does_not_count(zhang):
    li = await login(zhang, LI)
    lis = await certificate_ids(zhang, li)
    mine = await certificate_ids(zhang, zhang.tokens)
    body = {
        "item_code": "HJ005",
        "materials": {
            "id_card": {"certificate_id": lis["111"]},
            "household_register": {"certificate_id": mine["111"]},
        },
    }
    refused = await file(zhang, zhang.tokens, body)
    assert refused.status_code == 422
    problems = {p["material"]: p["problem"] for p in refused.json()["error"]["problems"]}
    assert problems == {
        "id_card": "certificate_not_found",
        "household_register": "wrong_certificate_type",
    }


@pytest.mark.parametrize("gateway_down", [False, True], ids=["gateway up", "gateway down"])
async def test_a_certificate_identifier_whose_check_character_fails_is_refused(zhang, gateway_down):
    materials = await materials_for(zhang, zhang.tokens, "HJ005")
    wrong = misnumbered(materials["id_card"]["certificate_id"])
    body = {"item_code": "HJ005", "materials": {**materials, "id_card": {"certificate_id": wrong}}}
    if gateway_down:
        # Not queued for the gateway to refuse later: it is refused now, library or not.
        await zhang.gateway.put("/_admin/faults", json={"down": True})
    refused = await file(zhang, zhang.tokens, body)
    await zhang.gateway.put("/_admin/faults", json={"down": False})
    assert refused.status_code == 422
    problems = {p["material"]: p["problem"] for p in refused.json()["error"]["problems"]}
    assert problems == {"id_card": "certificate_id_invalid"}
    assert await Application.all().count() == 0 and await OutboxRow.all().count() == 0


@pytest.mark.parametrize(
    "extra", [{"owner": "someone-else"}, {"status": "completed"}, {"user_id": "u"}]
)
async def test_fields_a_client_may_not_set_are_refused(zhang, extra):
    body = {"item_code": "HJ005", "materials": await materials_for(zhang, zhang.tokens, "HJ005")}
    answer = await file(zhang, zhang.tokens, {**body, **extra})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_request"
    assert await Application.all().count() == 0


async def test_someone_elses_application_is_not_found_and_the_list_is_ones_own(zhang):
    body = {"item_code": "HJ005", "materials": await materials_for(zhang, zhang.tokens, "HJ005")}
    filed = (await file(zhang, zhang.tokens, body)).json()
    li = await login(zhang, LI)
    peek = await zhang.client.get(f"/api/v1/applications/{filed['id']}", headers=bearer(li))
    assert peek.status_code == 404
    assert peek.json()["error"]["code"] == "application_not_found"
    garbage = await zhang.client.get("/api/v1/applications/not-a-uuid", headers=bearer(li))
    assert garbage.status_code == 404
    assert (await zhang.client.get("/api/v1/applications", headers=bearer(li))).json() == {
        "items": [],
        "next_cursor": None,
    }


async def test_the_list_is_newest_first_in_pages(zhang):
    body = {"item_code": "HJ005", "materials": await materials_for(zhang, zhang.tokens, "HJ005")}
    ids = []
    for n in range(3):
        ids.append((await file(zhang, zhang.tokens, body, key=f"k-{n}")).json()["id"])
    first = (
        await zhang.client.get(
            "/api/v1/applications", params={"limit": 2}, headers=bearer(zhang.tokens)
        )
    ).json()
    assert [a["id"] for a in first["items"]] == [ids[2], ids[1]]
    second = (
        await zhang.client.get(
            "/api/v1/applications",
            headers=bearer(zhang.tokens),
            params={"limit": 2, "cursor": first["next_cursor"]},
        )
    ).json()
    assert [a["id"] for a in second["items"]] == [ids[0]]
    assert second["next_cursor"] is None


async def test_while_the_gateway_is_down_filing_still_succeeds_and_delivery_follows(zhang):
    container = zhang.app.ctx.container
    container.outbox.backoff_initial = 0.05
    container.gateway.breaker.reset_after = 0.2
    body = {"item_code": "HJ005", "materials": await materials_for(zhang, zhang.tokens, "HJ005")}
    await zhang.gateway.put("/_admin/faults", json={"down": True})
    answer = await file(zhang, zhang.tokens, body)
    assert answer.status_code == 202 and answer.json()["status"] == "queued"
    # The certificates could not be checked now: the gateway checks them on intake.
    assert answer.json()["materials_verified"] is False
    await asyncio.sleep(0.3)
    assert zhang.gateway_app.ctx.intake.by_id == {}
    await zhang.gateway.put("/_admin/faults", json={"down": False})
    done = await until_status(zhang, zhang.tokens, answer.json()["id"], "completed")
    assert done["status"] == "completed"
    assert len(zhang.gateway_app.ctx.intake.by_id) == 1


async def test_a_completed_item_whose_result_is_a_certificate_shows_it_to_the_citizen(zhang):
    before = await zhang.client.get("/api/v1/me/certificates", headers=bearer(zhang.tokens))
    body = {"item_code": "JT002", "materials": await materials_for(zhang, zhang.tokens, "JT002")}
    filed = (await file(zhang, zhang.tokens, body)).json()
    done = await until_status(zhang, zhang.tokens, filed["id"], "completed")
    assert done["result_certificate_id"]
    after = await zhang.client.get("/api/v1/me/certificates", headers=bearer(zhang.tokens))
    new = {c["id"] for c in after.json()["items"]} - {c["id"] for c in before.json()["items"]}
    assert new == {done["result_certificate_id"]}
    shown = await zhang.client.get(
        f"/api/v1/me/certificates/{done['result_certificate_id']}", headers=bearer(zhang.tokens)
    )
    assert shown.json()["status"] == "valid" and shown.json()["type"] == "116"


async def test_online_completion_counts_completed_applications(zhang):
    body = {"item_code": "HJ005", "materials": await materials_for(zhang, zhang.tokens, "HJ005")}
    filed = (await file(zhang, zhang.tokens, body)).json()
    await until_status(zhang, zhang.tokens, filed["id"], "completed")
    ops = await ops_login(zhang)
    kpis = (await zhang.client.get("/api/v1/ops/kpis", headers=bearer(ops))).json()
    completion = next(i for i in kpis["indicators"] if i["key"] == "online_completion")
    assert (completion["numerator"], completion["denominator"], completion["met"]) == (1, 1, True)


async def test_a_form_with_control_or_bidi_characters_is_refused_and_nothing_stored(zhang):
    body = {
        "item_code": "HJ005",
        "materials": await materials_for(zhang, zhang.tokens, "HJ005"),
        "form": {"备注": ["正常", {"联系人": "张\u202e三"}]},
    }
    answer = await file(zhang, zhang.tokens, body)
    assert answer.status_code == 400
    assert await Application.all().count() == 0


async def test_uploads_serve_as_materials_only_for_their_owner_and_only_unflagged(zhang):
    held = await certificate_ids(zhang, zhang.tokens)
    photo = (await send(zhang, zhang.tokens, png(), "photo", "p.png", "image/png")).json()
    li = await login(zhang, LI)
    lis_photo = (await send(zhang, li, png(), "photo", "p.png", "image/png")).json()
    someone_elses_card = (
        await send(zhang, zhang.tokens, id_card_png(LI[0], "李四"), "id_card", "c.png", "image/png")
    ).json()

    def body(photo_id: str, card: dict) -> dict:
        return {
            "item_code": "SB001",
            "materials": {"id_card": card, "photo": {"upload_id": photo_id}},
        }

    theirs = await file(
        zhang,
        zhang.tokens,
        body(lis_photo["upload_id"], {"certificate_id": held["111"]}),
        key="u-1",
    )
    assert theirs.status_code == 422
    assert theirs.json()["error"]["problems"] == [
        {"material": "photo", "problem": "upload_not_found"}
    ]
    flagged = await file(
        zhang,
        zhang.tokens,
        body(photo["upload_id"], {"upload_id": someone_elses_card["upload_id"]}),
        key="u-2",
    )
    assert flagged.status_code == 422
    assert flagged.json()["error"]["problems"] == [
        {"material": "id_card", "problem": "upload_flagged"}
    ]
    mine = await file(
        zhang, zhang.tokens, body(photo["upload_id"], {"certificate_id": held["111"]}), key="u-3"
    )
    assert mine.status_code == 202, mine.text
    await until_status(zhang, zhang.tokens, mine.json()["id"], "completed")


async def certificate_lists(user_id: str) -> list[str]:
    """The purposes of the library lists in the citizen's access log, oldest first."""
    rows = await AuditEntry.filter(action="certificate.list", subject_user_id=user_id)
    return [r.purpose for r in sorted(rows, key=lambda r: r.id)]


async def holder_of(stack, tokens):
    me = (await stack.client.get("/api/v1/me", headers=bearer(tokens))).json()
    return await stack.app.ctx.container.holders.of_user(me["id"])


async def test_a_filing_checks_the_materials_against_the_facts_the_one_id_view_gathered(zhang):
    body = {"item_code": "HJ005", "materials": await materials_for(zhang, zhang.tokens, "HJ005")}
    holder = await holder_of(zhang, zhang.tokens)
    await zhang.client.get("/api/v1/me/one-id-items", headers=bearer(zhang.tokens))
    before = await certificate_lists(holder.user_id)
    filed = await file(zhang, zhang.tokens, body)
    assert filed.status_code == 202 and filed.json()["materials_verified"] is True
    # No second library list: the access log shows the one that gathered the facts.
    assert await certificate_lists(holder.user_id) == before


async def test_a_certificate_the_facts_do_not_know_yet_is_asked_of_the_library_first(zhang):
    materials = await materials_for(zhang, zhang.tokens, "HJ005")
    holder = await holder_of(zhang, zhang.tokens)
    held = zhang.app.ctx.container.applications.held
    # Facts gathered before the household register was issued (an application's result).
    await held._remember(
        holder.user_id, [HeldCertificate(materials["id_card"]["certificate_id"], "111", "valid")]
    )
    filed = await file(zhang, zhang.tokens, {"item_code": "HJ005", "materials": materials})
    assert filed.status_code == 202, filed.text
    assert (await certificate_lists(holder.user_id))[-1] == "办件材料核验"
    # What the library said is kept for the next look.
    kept = {c.id for c in await held.of(holder, "r", "unused")}
    assert {m["certificate_id"] for m in materials.values()} <= kept


async def test_facts_wrongly_holding_a_certificate_as_usable_end_in_rejection_at_intake(zhang):
    li = await login(zhang, LI)
    lis = await certificate_ids(zhang, li)
    materials = await materials_for(zhang, zhang.tokens, "HJ005")
    holder = await holder_of(zhang, zhang.tokens)
    # Facts up to 30 s old may still call usable a certificate the library has since
    # revoked; here they even name someone else's. The gateway checks it itself at intake.
    forged = {
        "id_card": {"certificate_id": lis["111"]},
        **{k: v for k, v in materials.items() if k != "id_card"},
    }
    held = [
        HeldCertificate(v["certificate_id"], t, "valid")
        for v, t in ((forged["id_card"], "111"), (forged["household_register"], "112"))
    ]
    await zhang.app.ctx.container.applications.held._remember(holder.user_id, held)
    filed = await file(zhang, zhang.tokens, {"item_code": "HJ005", "materials": forged})
    assert filed.status_code == 202
    done = await until_status(zhang, zhang.tokens, filed.json()["id"], "completed", "rejected")
    assert done["status"] == "rejected" and done["result_certificate_id"] is None


async def test_a_filing_is_in_the_audit_log_with_the_application_and_a_refusal_is_not(zhang):
    body = {"item_code": "HJ005", "materials": await materials_for(zhang, zhang.tokens, "HJ005")}
    refused = await file(zhang, zhang.tokens, {"item_code": "HJ005", "materials": {}}, key="r")
    assert refused.status_code == 422
    assert not await AuditEntry.filter(action="application.file").exists()
    filed = (await file(zhang, zhang.tokens, body)).json()
    replayed = (await file(zhang, zhang.tokens, body)).json()
    assert replayed["id"] == filed["id"]
    (line,) = await AuditEntry.filter(action="application.file")
    assert (line.target, line.reason, line.outcome) == (f"application:{filed['id']}", "HJ005", "ok")
    holder = await holder_of(zhang, zhang.tokens)
    assert line.actor == holder.id_number_masked and line.actor_user_id == holder.user_id
    assert holder.id_number not in line.actor


async def test_without_kept_facts_a_filing_asks_the_library_once_even_when_refused(zhang):
    li = await login(zhang, LI)
    lis = await certificate_ids(zhang, li)
    materials = await materials_for(zhang, zhang.tokens, "HJ005")
    holder = await holder_of(zhang, zhang.tokens)
    zhang.app.ctx.container.applications.held.ttl_seconds = 0  # nothing kept (as Redis down)
    before = await certificate_lists(holder.user_id)
    body = {
        "item_code": "HJ005",
        "materials": {**materials, "id_card": {"certificate_id": lis["111"]}},
    }
    refused = await file(zhang, zhang.tokens, body)
    assert refused.status_code == 422
    assert await certificate_lists(holder.user_id) == [*before, "办件材料核验"]


async def test_a_retry_after_the_facts_expired_is_answered_without_asking_the_library_again(zhang):
    body = {"item_code": "HJ005", "materials": await materials_for(zhang, zhang.tokens, "HJ005")}
    holder = await holder_of(zhang, zhang.tokens)
    first = await file(zhang, zhang.tokens, body)
    assert first.status_code == 202
    zhang.app.ctx.container.applications.held.ttl_seconds = 0  # nothing kept (as Redis down)
    before = await certificate_lists(holder.user_id)
    again = await file(zhang, zhang.tokens, body)
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
    reused = await file(zhang, zhang.tokens, {**body, "form": {"备注": "另一份"}})
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    # Neither filed anything: neither shows as a library read in the citizen's access log.
    assert await certificate_lists(holder.user_id) == before
    fresh = await file(zhang, zhang.tokens, body, key="k-2")  # a new filing does ask
    assert fresh.status_code == 202
    assert await certificate_lists(holder.user_id) == [*before, "办件材料核验"]


async def test_a_refused_filing_whose_key_another_request_still_holds_is_told_to_retry(zhang):
    complete = await materials_for(zhang, zhang.tokens, "HJ005")
    partial = {k: v for k, v in complete.items() if k == "id_card"}
    body = {"item_code": "HJ005", "materials": partial}
    holder = await holder_of(zhang, zhang.tokens)
    # The first request with this key is an instance's of the previous release, mid-upgrade,
    # which claimed keys before filing: still at work.
    print_ = fingerprint({**body, "form": {}})
    until = datetime.now(UTC) + timedelta(seconds=30)
    claim = await IdempotencyRecord.create(
        user_id=holder.user_id, key="k-1", fingerprint=print_, claimed_until=until
    )
    answer = await file(zhang, zhang.tokens, body)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "idempotency_key_in_flight"
    assert "retry-after" in answer.headers
    await claim.delete()  # it gave up
    assert (await file(zhang, zhang.tokens, body)).status_code == 422
