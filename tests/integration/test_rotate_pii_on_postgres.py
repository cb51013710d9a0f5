"""`rotate-pii` from the standard suite to guomi, and to a new key, on a populated
PostgreSQL database while the API keeps serving reads: nothing read fails meanwhile, every
row ends up under SM4-GCM and HMAC-SM3, a run stopped half-way is finished by the next, and
the retired key can then be dropped."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import secrets

from auth.models import User
from auth.rotation import left_behind, rotate_users
from core.crypto import HEADER_BYTES, SUITE_SM4_GCM_64K, PiiCipher
from services.uploads.rotation import rotate_uploads
from store.models import Upload
from tests import upload_samples as samples
from tests.auth_helpers import ZHANG, bearer, login
from tests.conftest import backend_with_gateway, make_settings

CROWD = 120  # more than two batches of 50


def crowd_id_number(n: int) -> str:
    body = f"33040219800101{n:03d}"
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


async def populate(stack) -> tuple[dict, str]:
    tokens = await login(stack, ZHANG)
    response = await stack.client.post(
        "/api/v1/uploads",
        files={"file": ("card.png", samples.id_card_png(*ZHANG), "image/png")},
        data={"kind": "id_card"},
        headers=bearer(tokens),
    )
    assert response.status_code == 201, response.text
    users = stack.app.ctx.container.users
    for n in range(CROWD):
        await users.ensure(crowd_id_number(n), f"市民{n}", ["citizen"])
    return tokens, response.json()["upload_id"]


async def reads_while(
    stack, tokens: dict, upload_id: str, done: asyncio.Event, counted: list[int]
) -> int:
    """Reads that decrypt stored ID numbers, find users by their hash and open the upload,
    until `done`; every one must succeed. `counted[0]` is kept up to date."""
    container, reads = stack.app.ctx.container, 0
    user_id = tokens["user"]["id"]
    while not done.is_set():
        me = await stack.client.get("/api/v1/me/certificates", headers=bearer(tokens))
        assert me.status_code == 200, me.text
        assert (await container.users.find(crowd_id_number(reads % CROWD))) is not None
        view = await container.uploads.usable_by(user_id, upload_id)
        assert view is not None and view.ocr["id_number_masked"] == "3304**********1230"
        assert container.uploads.store.open(upload_id).startswith(b"\x89PNG")
        reads += 1
        counted[0] = reads
        await asyncio.sleep(0)
    return reads


async def test_rotate_pii_moves_a_serving_database_to_guomi_and_a_new_key(tmp_path, fresh_pg_url):
    old_key = base64.b64encode(secrets.token_bytes(32)).decode()
    new_key = base64.b64encode(secrets.token_bytes(32)).decode()
    standard = make_settings(tmp_path, database_url=fresh_pg_url, pii_key=old_key)
    async with backend_with_gateway(standard) as stack:
        tokens, upload_id = await populate(stack)

    guomi = dataclasses.replace(
        standard, crypto_suite="guomi", pii_key=new_key, pii_previous_keys=old_key
    )
    async with backend_with_gateway(guomi) as stack:
        container = stack.app.ctx.container
        cipher: PiiCipher = container.users.cipher
        # The first run stops after one batch, as a killed process would.
        async for rewritten in rotate_users(cipher, batch_size=50):
            assert rewritten == 50
            break
        assert await left_behind(cipher) == CROWD + 1 - 50
        done, counted = asyncio.Event(), [0]
        reader = asyncio.create_task(reads_while(stack, tokens, upload_id, done, counted))
        await asyncio.sleep(0.05)
        # Reads made while the rows are being rewritten, not only before.
        finished, reads_during = [], []
        async for n in rotate_users(cipher, batch_size=50):
            finished.append(n)
            reads_during.append(counted[0])
            await asyncio.sleep(0.01)  # the API reads a half-rotated database meanwhile
        files = [n async for n in rotate_uploads(container.uploads.store, batch_size=50)]
        done.set()
        total = await asyncio.wait_for(reader, 30)
        assert reads_during[0] < reads_during[-1] <= total
        assert sum(finished) == CROWD + 1 - 50  # the rest, each once
        assert sum(files) == 2  # the file and its OCR record
        assert [n async for n in rotate_users(cipher, batch_size=50)] == []
        assert await left_behind(cipher) == 0

        rows = await User.all().values("id_encrypted", "id_hash")
        assert all(cipher.is_current(r["id_encrypted"]) for r in rows)
        assert {r["id_hash"] for r in rows} >= {cipher.lookup_hash(ZHANG[0])}
        upload = await Upload.get(id=upload_id)
        assert base64.b64decode(upload.ocr_sealed)[3] == SUITE_SM4_GCM_64K
        path = container.uploads.store.path_of(upload_id)
        assert path.read_bytes()[:HEADER_BYTES][3] == SUITE_SM4_GCM_64K

    # Everything rewritten: the old key is no longer needed to read anything.
    retired = dataclasses.replace(guomi, pii_previous_keys="")
    async with backend_with_gateway(retired) as stack:
        again = await login(stack, ZHANG)
        assert again["user"]["id"] == tokens["user"]["id"]  # found by the new hash
        view = await stack.app.ctx.container.uploads.usable_by(again["user"]["id"], upload_id)
        assert view is not None and view.ocr["name"] == "张三"
        listed = await stack.client.get("/api/v1/me/certificates", headers=bearer(again))
        assert listed.status_code == 200
