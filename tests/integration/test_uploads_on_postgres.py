"""An ID-card upload on real PostgreSQL and Redis: the flag is stored, and read back."""

from __future__ import annotations

from store.db import apply_migrations
from tests import upload_samples as samples
from tests.auth_helpers import LI, ZHANG, bearer, login
from tests.conftest import backend_with_gateway, make_settings


async def test_an_id_card_upload_keeps_its_flag_in_postgres(tmp_path, pg_url, redis_url):
    await apply_migrations(pg_url)
    settings = make_settings(tmp_path, database_url=pg_url, redis_url=redis_url)
    async with backend_with_gateway(settings) as stack:
        tokens = await login(stack, ZHANG)
        user_id = tokens["user"]["id"]
        answers = {}
        for label, (number, name) in (("own", ZHANG), ("other", LI)):
            response = await stack.client.post(
                "/api/v1/uploads",
                files={"file": ("card.png", samples.id_card_png(number, name), "image/png")},
                data={"kind": "id_card"},
                headers=bearer(tokens),
            )
            assert response.status_code == 201, response.text
            answers[label] = response.json()["upload_id"]
        uploads = stack.app.ctx.container.uploads
        own = await uploads.usable_by(user_id, answers["own"])
        other = await uploads.usable_by(user_id, answers["other"])
        assert own is not None and not own.flagged
        assert own.ocr == {"name": "张三", "id_number_masked": "3304**********1230"}
        assert other is not None and other.flagged
        assert other.flag_reason == "id_number_mismatch" and other.ocr == {"name": "李四"}
        li = await login(stack, LI)
        assert await uploads.usable_by(li["user"]["id"], answers["own"]) is None
