"""The whole citizen flow with 国密 throughout: ID numbers at rest under SM4-GCM and
HMAC-SM3, gateway requests and callbacks signed with HMAC-SM3 on both sides, SM2- and
Ed25519-sealed certificates read, and an application filed and completed."""

from __future__ import annotations

import pytest

from auth.models import User
from tests.api.test_applications import file, materials_for, until_status
from tests.auth_helpers import ZHANG, bearer, catalog_ready, login
from tests.conftest import make_settings

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, crypto_suite="guomi", gateway_signature="hmac-sm3")


async def test_a_citizen_is_served_end_to_end_under_the_guomi_suite(stack):
    await catalog_ready(stack)
    tokens = await login(stack, ZHANG)
    [row] = await User.filter(id=tokens["user"]["id"]).values("id_encrypted")
    assert row["id_encrypted"].startswith("sm4gcm:")
    listed = await stack.client.get("/api/v1/me/certificates", headers=bearer(tokens))
    assert listed.status_code == 200
    body = {"item_code": "JT002", "materials": await materials_for(stack, tokens, "JT002")}
    answer = await file(stack, tokens, body)
    assert answer.status_code == 202, answer.text
    done = await until_status(stack, tokens, answer.json()["id"], "completed")
    # The result came back by an HMAC-SM3-signed callback, its identifier verified.
    assert done["result_certificate_id"].startswith("1.2.156.3005.2.116.")
