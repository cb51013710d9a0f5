"""An item whose result is a certificate adds it to the applicant's library on completion."""

from __future__ import annotations

import copy

import httpx
import pytest

from mock_gateway import catalog, datafiles
from mock_gateway.datafiles import DataError
from tests.mock_gateway.test_data_files import raw
from tests.mock_gateway.test_intake import CallbackReceiver, submit, wait_for, with_gateway
from tests.mock_gateway.test_library_and_faults import issuer_keys, verifies

ZHANG = {"id_number": "330402199001011230", "name": "张三"}
LI = {"id_number": "330411198506152348", "name": "李四"}
SPOUSE = {"spouse_name": "周建国", "spouse_id_number": "330402198302145678"}
CALLBACK = "http://backend.test/cb"


class BackendThatLooks:
    """A callback endpoint that, told an application is completed, lists the holder's
    certificates there and then, as the backend's one-ID view would."""

    def __init__(self, holder: dict) -> None:
        self.holder = holder
        self.received = CallbackReceiver()
        self.gateway = None
        self.listed_on_completion: list[str] | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        response = self.received(request)
        if self.received.calls[-1]["body"]["status"] == "completed":
            documents = await certificates_of(self.gateway, self.holder)
            self.listed_on_completion = [d["id"] for d in documents]
        return response

    def payloads(self) -> list[dict]:
        return [c["body"] for c in self.received.calls]


async def certificates_of(gw, holder: dict) -> list[dict]:
    body = {"holder_id_number": holder["id_number"], "purpose": "一证通办"}
    return (await gw.signed("POST", "/certs/list", body)).json()["certificates"]


async def held(gw, holder: dict, type_code: str) -> str:
    return next(
        d["id"]
        for d in await certificates_of(gw, holder)
        if d["type_code"] == type_code and d["status"] == "valid"
    )


async def marriage_registration(gw, household_certificate: str | None = None) -> dict:
    return {
        "item_code": "HY001",
        "applicant": LI,
        "form": SPOUSE,
        "callback_url": CALLBACK,
        "materials": {
            "id_card": {"certificate_id": await held(gw, LI, "111")},
            "household_register": {
                "certificate_id": household_certificate or await held(gw, LI, "112")
            },
        },
    }


async def completed(gw, backend: BackendThatLooks, key: str, body: dict) -> dict:
    """Submits, waits for the final callback, and returns the application as the gateway has it."""
    application_id = (await submit(gw, key, body)).json()["application_id"]
    await wait_for(lambda: len(backend.received.calls) >= 2)
    return (await gw.signed("GET", f"/intake/applications/{application_id}")).json()


async def test_a_completed_marriage_registration_lists_a_signed_marriage_certificate():
    backend = BackendThatLooks(LI)

    async def body_for(gw):
        backend.gateway = gw
        return await marriage_registration(gw)

    async def check(gw, body):
        application = await completed(gw, backend, "marry-1", body)
        accepted, done = backend.payloads()
        assert done["status"] == "completed"
        new_id = done["result_certificate_id"]
        assert "result_certificate_id" not in accepted
        assert application["result_certificate_id"] == new_id
        assert backend.listed_on_completion is not None and new_id in backend.listed_on_completion
        document = next(d for d in await certificates_of(gw, LI) if d["id"] == new_id)
        assert (document["type_name"], document["holder_name"]) == ("结婚证", "李四")
        assert document["status"] == "valid" and document["valid_until"] is None
        assert document["fields"]["spouse_name"] == "周建国"
        assert document["fields"]["spouse_id_number_masked"] == "3304**********5678"
        assert document["fields"]["issuing_authority"] == "嘉兴市民政局"
        assert verifies(await issuer_keys(gw), document)

    await with_gateway(backend, body_for, check)


async def test_another_holders_list_does_not_show_the_new_certificate():
    backend = BackendThatLooks(LI)

    async def body_for(gw):
        backend.gateway = gw
        return await marriage_registration(gw)

    async def check(gw, body):
        new_id = (await completed(gw, backend, "marry-2", body))["result_certificate_id"]
        assert new_id not in [d["id"] for d in await certificates_of(gw, ZHANG)]
        asked_as_zhang = {
            "certificate_id": new_id,
            "holder_id_number": ZHANG["id_number"],
            "purpose": "查看",
        }
        assert (await gw.signed("POST", "/certs/get", asked_as_zhang)).status_code == 404

    await with_gateway(backend, body_for, check)


async def test_a_rejected_application_issues_nothing():
    backend = BackendThatLooks(LI)
    before: list[dict] = []

    async def body_for(gw):
        backend.gateway = gw
        before.extend(await certificates_of(gw, LI))
        return await marriage_registration(gw, household_certificate="1.2.156.3005.2.112.X.1.001.0")

    async def check(gw, body):
        application = await completed(gw, backend, "marry-3", body)
        assert application["status"] == "rejected"
        assert "result_certificate_id" not in application
        assert all("result_certificate_id" not in p for p in backend.payloads())
        assert await certificates_of(gw, LI) == before

    await with_gateway(backend, body_for, check)


async def test_an_item_without_a_result_certificate_issues_nothing():
    backend = BackendThatLooks(ZHANG)
    before: list[dict] = []

    async def body_for(gw):
        backend.gateway = gw
        before.extend(await certificates_of(gw, ZHANG))
        return {
            "item_code": "YB001",
            "applicant": ZHANG,
            "callback_url": CALLBACK,
            "materials": {"id_card": {"certificate_id": await held(gw, ZHANG, "111")}},
        }

    async def check(gw, body):
        application = await completed(gw, backend, "insure-1", body)
        assert application["status"] == "completed"
        assert "result_certificate_id" not in application
        assert "result_certificate_id" not in backend.payloads()[-1]
        assert await certificates_of(gw, ZHANG) == before

    await with_gateway(backend, body_for, check)


async def test_a_renewed_driving_licence_keeps_the_class_and_file_number_it_had():
    backend = BackendThatLooks(ZHANG)

    async def body_for(gw):
        backend.gateway = gw
        return {
            "item_code": "JT001",
            "applicant": ZHANG,
            "callback_url": CALLBACK,
            "materials": {
                "id_card": {"certificate_id": await held(gw, ZHANG, "111")},
                "driving_licence": {"certificate_id": await held(gw, ZHANG, "116")},
            },
        }

    async def check(gw, body):
        new_id = (await completed(gw, backend, "renew-1", body))["result_certificate_id"]
        document = next(d for d in await certificates_of(gw, ZHANG) if d["id"] == new_id)
        assert document["type_name"] == "机动车驾驶证"
        assert document["fields"]["class"] == "C1"
        assert document["fields"]["first_issued"] == "2011-09-30"
        assert document["fields"]["file_number"] == "330400123456"

    await with_gateway(backend, body_for, check)


async def test_completing_the_same_application_again_issues_no_second_certificate():
    backend = BackendThatLooks(LI)

    async def body_for(gw):
        backend.gateway = gw
        return await marriage_registration(gw)

    async def check(gw, body):
        application_id = (await completed(gw, backend, "marry-4", body))["application_id"]
        before = await certificates_of(gw, LI)
        intake = gw.app.ctx.intake
        intake._issue_result(intake.by_id[application_id])
        assert await certificates_of(gw, LI) == before

    await with_gateway(backend, body_for, check)


def test_the_served_catalog_says_which_items_produce_which_certificate():
    items = {i["code"]: i for i in catalog.build()}
    assert items["HY001"]["result_certificate_type"] == "113"  # 结婚登记 → 结婚证
    assert items["SB001"]["result_certificate_type"] == "115"  # 社会保障卡申领 → 社会保障卡
    # Absent rather than null, so an item that produces nothing is served as it was.
    assert "result_certificate_type" not in items["YB001"]


def test_an_item_naming_an_unknown_result_certificate_type_is_refused(monkeypatch):
    broken = copy.deepcopy(raw("catalog.json"))
    broken["items"][6]["result_certificate_type"] = "199"
    real_load = datafiles.load
    monkeypatch.setattr(
        datafiles, "load", lambda name: broken if name == "catalog.json" else real_load(name)
    )
    with pytest.raises(DataError, match=r"catalog\.json: items\[6\].*'199'"):
        datafiles.catalog.__wrapped__()
