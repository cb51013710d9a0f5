"""A typed client generated from the served OpenAPI document, as a mobile team would make
one, walks the citizen's flow and the ops flow against real processes.

openapi-python-client runs with --fail-on-warning: a document change that a generator
cannot turn into a client (a recursive union, a dangling $ref, an operation it must
drop) fails here, before a mobile team meets it.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.auth_helpers import WANG, ZHANG
from tests.e2e.conftest import backend_running, mock_gateway_running

APP_KEY, SECRET = "lingpao-client", "client-secret-0123456789"
PACKAGE = "lingpao_client"


@pytest.fixture(scope="module")
def running(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """The API (SQLite, in-process Redis stand-in) and the mock gateway on spare ports."""
    with (
        mock_gateway_running(APP_KEY, SECRET, intake_delay=0) as gateway,
        backend_running(
            tmp_path_factory.mktemp("generated-client"), gateway, APP_KEY, SECRET
        ) as api,
    ):
        yield api, gateway


@pytest.fixture(scope="module")
def client_package(running, tmp_path_factory) -> ModuleType:
    api, _ = running
    out = tmp_path_factory.mktemp("client")
    document = out / "openapi.json"
    document.write_bytes(httpx.get(api + "/docs/openapi.json", timeout=10).content)
    generated = subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(out / PACKAGE),
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        # Its post-generation step formats the client with ruff, from our virtualenv.
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert generated.returncode == 0, generated.stdout[-4000:] + generated.stderr[-2000:]
    sys.path.insert(0, str(out))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))


def endpoint(name: str):
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def model(name: str):
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def signed_in(package: ModuleType, api: str, gateway: str, person: tuple[str, str]):
    """The provincial IdP's token (the mock's, by plain HTTP), then our login, typed."""
    identity = httpx.post(
        f"{gateway}/idp/token",
        json={"id_number": person[0], "name": person[1], "assurance": "face"},
        timeout=10,
    ).json()["identity_token"]
    tokens = endpoint("auth.login").sync(
        client=package.Client(base_url=api),
        body=model("LoginBody")(identity_token=identity, device_id="generated-client"),
    )
    assert isinstance(tokens, model("Tokens")), tokens
    assert tokens.user.name == person[1]
    assert "*" in tokens.user.id_number_masked
    return package.AuthenticatedClient(base_url=api, token=tokens.access_token)


def test_a_citizen_walks_from_login_to_an_application_s_status(client_package, running):
    api, gateway = running
    me = signed_in(client_package, api, gateway, ZHANG)

    eligible = endpoint("certificates.list_one_id_items").sync(
        client=me, eligible=model("ListOneIdItemsEligible").TRUE, limit=100
    )
    assert isinstance(eligible, model("OneIdItemPage")), eligible
    assert eligible.items and all(item.eligible for item in eligible.items)
    item = eligible.items[0]

    certificates = endpoint("certificates.list_certificates").sync(client=me)
    assert isinstance(certificates, model("CertificateSummaryPage")), certificates
    chosen = next(c for c in certificates.items if c.status == "valid")
    certificate = endpoint("certificates.get_certificate").sync(chosen.id, client=me)
    assert isinstance(certificate, model("Certificate")), certificate
    assert certificate.signature_valid is True

    shown = endpoint("certificates.create_presentation").sync(
        chosen.id, client=me, body=model("PresentationBody")(ttl_seconds=120)
    )
    assert isinstance(shown, model("Presentation")), shown
    checked = endpoint("certificates.verify_presentation").sync(
        client=client_package.Client(base_url=api), body=model("VerifyBody")(token=shown.token)
    )
    assert isinstance(checked, model("Verification")), checked
    assert checked.valid is True and checked.certificate.id == chosen.id

    materials = model("ApplicationBodyMaterials")()
    for material in item.materials:
        if material.satisfied_by:
            materials[material.code] = {"certificate_id": material.satisfied_by}
    filed = endpoint("applications.file_application").sync(
        client=me,
        idempotency_key=str(uuid.uuid4()),
        body=model("ApplicationBody")(item_code=item.code, materials=materials),
    )
    assert isinstance(filed, model("Application")), filed
    assert filed.item_code == item.code and filed.status == "queued"

    deadline = time.monotonic() + 30
    status = filed.status
    while status == "queued" and time.monotonic() < deadline:
        time.sleep(0.2)
        found = endpoint("applications.get_application").sync(filed.id, client=me)
        assert isinstance(found, model("Application")), found
        status = found.status
    assert status != "queued", "the application never left the queue"
    mine = endpoint("applications.list_applications").sync(client=me)
    assert [a.id for a in mine.items] == [filed.id]


def test_ops_switch_a_mode_with_if_match_and_see_the_kpis_and_the_audit(client_package, running):
    api, gateway = running
    ops = signed_in(client_package, api, gateway, WANG)
    items = endpoint("ops.list_ops_items").sync(
        client=ops, mode=model("ListOpsItemsMode").ONE_TRIP, limit=100
    )
    assert isinstance(items, model("OpsItemPage")), items
    free = next(i for i in items.items if not i.zero_trip_blockers)
    before = endpoint("ops.get_kpis").sync(client=ops)
    zero_trip = {k.key: k for k in before.indicators}

    switched = endpoint("ops.switch_mode").sync(
        free.code,
        client=ops,
        if_match=f'"{free.version}"',
        body=model("ModeBody")(mode=model("ModeBodyMode").ZERO_TRIP, reason="材料均可电子调取"),
    )
    assert isinstance(switched, model("OpsItem")), switched
    assert switched.mode.value == "zero_trip" and switched.version == free.version + 1

    stale = endpoint("ops.switch_mode").sync(
        free.code,
        client=ops,
        if_match=f'"{free.version}"',
        body=model("ModeBody")(mode=model("ModeBodyMode").ONE_TRIP, reason="回退"),
    )
    assert isinstance(stale, model("Error")) and stale.error.code == "version_mismatch"

    after = {k.key: k for k in endpoint("ops.get_kpis").sync(client=ops).indicators}
    moved = [k for k in after if after[k].numerator != zero_trip[k].numerator]
    assert moved, "no indicator moved after an item went zero-trip"

    audit = endpoint("ops.list_audit").sync(client=ops, action="item.mode_switch")
    assert isinstance(audit, model("AuditEntryPage")), audit
    assert audit.items[0].target == f"item:{free.code}"
