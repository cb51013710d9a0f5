"""The mock's data is realistic, complete and the same on every start."""

from __future__ import annotations

import json
from collections import Counter

from mock_gateway import catalog, certificates, holdings, population
from mock_gateway.app import create_app
from tests.mock_gateway.conftest import mock_config


def test_the_register_holds_the_demo_citizens_and_200_more_with_valid_numbers():
    people = population.generate()
    assert [p.name for p in people[:3]] == ["张三", "李四", "王五"]
    assert len(people) >= 203
    assert all(population.is_valid_id_number(p.id_number) for p in people)
    for p in people:
        assert p.id_number[6:14] == f"{p.birth_date:%Y%m%d}"
        assert (p.gender == "男") == (int(p.id_number[16]) % 2 == 1)
    regions = {p.region_code for p in people}
    assert set(population.JIAXING_REGIONS) <= regions
    assert any(code.startswith("31") for code in regions)


def test_check_digit_rule_matches_gb_11643():
    assert population.check_char("11010519491231002") == "X"
    assert not population.is_valid_id_number("330402199001011231")


def test_the_catalog_has_40_items_in_8_categories_with_every_source_and_mode():
    items = catalog.build()
    assert len(items) >= 40
    assert len({i["category"] for i in items}) >= 8
    sources = {m["source"] for i in items for m in i["materials"]}
    assert sources == {"certificate", "upload", "paper"}
    assert {i["mode"] for i in items} == {"in_person", "one_trip", "zero_trip"}
    assert any(not i["online"] for i in items)
    for item in items:
        has_paper = any(m["source"] == "paper" for m in item["materials"])
        if item["mode"] == "zero_trip":
            assert item["online"] and not has_paper, item["code"]
        assert item["guide"]["address"] and item["guide"]["hours"]
    switchable = [
        i
        for i in items
        if i["mode"] != "zero_trip"
        and i["online"]
        and not any(m["source"] == "paper" for m in i["materials"])
    ]
    assert len(switchable) >= 5


def test_the_starting_catalog_leaves_the_city_short_of_its_targets():
    items = catalog.build()
    zero = sum(i["mode"] == "zero_trip" for i in items) / len(items)
    online = sum(i["online"] for i in items) / len(items)
    assert zero < 0.9 and online < 1.0


def test_certificates_cover_eight_types_and_every_status():
    lib = holdings.build(population.generate(), 7)
    types = {d["type_code"] for d in lib.by_id.values()}
    assert len(types) >= 8
    assert {d["status"] for d in lib.by_id.values()} == {"valid", "expired", "revoked"}


def test_zhang_san_holds_the_broad_set_and_li_si_only_two():
    lib = holdings.build(population.generate(), 7)
    zhang = {d["type_name"] for d in lib.list_for("330402199001011230") if d["status"] == "valid"}
    assert {
        "居民身份证",
        "居民户口簿",
        "结婚证",
        "不动产权证书",
        "社会保障卡",
        "机动车驾驶证",
    } <= zhang
    li = {d["type_name"] for d in lib.list_for("330411198506152348")}
    assert li == {"居民身份证", "居民户口簿"}


def test_identifiers_have_the_gb_t_36904_shape_and_check_character():
    lib = holdings.build(population.generate(), 7)
    for cert_id in list(lib.by_id)[:50]:
        parts = cert_id.split(".")
        assert parts[:5] == ["1", "2", "156", "3005", "2"]
        body, check = cert_id.rsplit(".", 1)
        assert certificates.check_character(body) == check


def test_two_starts_give_identical_catalogs_certificates_and_keys():
    a, b = create_app(mock_config(), name="gw_a"), create_app(mock_config(), name="gw_b")
    assert json.dumps(a.ctx.items, sort_keys=True) == json.dumps(b.ctx.items, sort_keys=True)
    # An SM2 signature draws a fresh k each time: the same content under the same keys,
    # not the same signature bytes.
    assert [certificates.canonical(d) for d in a.ctx.library.by_id.values()] == [
        certificates.canonical(d) for d in b.ctx.library.by_id.values()
    ]
    assert a.ctx.library.issuer_keys() == b.ctx.library.issuer_keys()
    assert a.ctx.idp.jwks() == b.ctx.idp.jwks()


def test_the_demo_data_includes_expired_and_revoked_certificates_for_zhang_san():
    lib = holdings.build(population.generate(), 7)
    statuses = Counter(d["status"] for d in lib.list_for("330402199001011230"))
    assert statuses["expired"] >= 1 and statuses["revoked"] >= 1
