"""一证通办 for 张三 and 李四 on the mock catalog, checked by hand against its data."""

from __future__ import annotations

from tests.auth_helpers import LI, ZHANG, bearer, catalog_ready, login


async def one_id(stack, tokens, **params) -> dict[str, dict]:
    response = await stack.client.get(
        "/api/v1/me/one-id-items", params={"limit": 100, **params}, headers=bearer(tokens)
    )
    assert response.status_code == 200, response.text
    return {i["code"]: i for i in response.json()["items"]}


async def test_zhang_san_with_the_broad_set(stack):
    await catalog_ready(stack)
    items = await one_id(stack, await login(stack, ZHANG))
    assert len(items) == 46
    # 户口迁移 (one-trip): ID card, household register and property title — he holds all.
    assert items["HJ001"]["eligible"] is True
    assert all(m["satisfied_by"] for m in items["HJ001"]["materials"])
    # 离婚登记 (in person, paper declaration): never eligible, whatever he holds.
    assert items["HY002"]["eligible"] is False
    # 学历证明开具 (in person) and 教师资格认定 need a diploma he does not hold.
    jy003 = items["JY003"]
    assert jy003["eligible"] is False
    assert next(m for m in jy003["materials"] if m["code"] == "diploma")["satisfied_by"] is None
    assert "diploma" in jy003["missing"]
    # 生育津贴 needs a birth certificate (出生医学证明): he holds none.
    assert items["SY002"]["eligible"] is False


async def test_li_si_with_only_an_id_card_and_household_register(stack):
    await catalog_ready(stack)
    items = await one_id(stack, await login(stack, LI))
    assert items["HJ005"]["eligible"] is True  # 户籍证明: ID card + household register
    assert items["YB001"]["eligible"] is True  # 医保参保登记: ID card
    assert items["HJ001"]["eligible"] is False  # needs a property title
    assert items["SB002"]["eligible"] is False  # needs a social security card
    eligible = await one_id(stack, await login(stack, LI), eligible="true")
    assert all(i["eligible"] for i in eligible.values())
    assert "HJ005" in eligible and "HJ001" not in eligible
    not_eligible = await one_id(stack, await login(stack, LI), eligible="false")
    assert set(eligible).isdisjoint(not_eligible)
    assert len(eligible) + len(not_eligible) == 46


async def test_expired_and_revoked_certificates_do_not_count(stack):
    await catalog_ready(stack)
    tokens = await login(stack, ZHANG)
    items = await one_id(stack, tokens)
    used = {m["satisfied_by"] for i in items.values() for m in i["materials"] if m["satisfied_by"]}
    found = (
        await stack.client.get(
            "/api/v1/me/certificates", params={"limit": 100}, headers=bearer(tokens)
        )
    ).json()["items"]
    unusable = {c["id"] for c in found if c["status"] != "valid"}
    assert unusable and used.isdisjoint(unusable)


async def test_a_forged_certificate_does_not_count(stack):
    await catalog_ready(stack)
    tokens = await login(stack, LI)
    before = await one_id(stack, tokens)
    household = next(
        m["satisfied_by"] for m in before["HJ005"]["materials"] if m["code"] == "household_register"
    )
    await stack.gateway.post("/_admin/certificates/tamper", json={"certificate_id": household})
    after = await one_id(stack, tokens)
    assert after["HJ005"]["eligible"] is False


async def test_a_bad_eligible_filter_is_400(stack):
    response = await stack.client.get(
        "/api/v1/me/one-id-items",
        params={"eligible": "maybe"},
        headers=bearer(await login(stack, LI)),
    )
    assert response.status_code == 400
