"""The JSON data files hold what a reviewer of the demo would expect, and a broken one is named."""

from __future__ import annotations

import copy
import json
from importlib.resources import files

import pytest

from mock_gateway import datafiles, holdings, population
from mock_gateway.datafiles import DataError

FILES = (
    "catalog.json",
    "certificate_types.json",
    "issuers.json",
    "population.json",
    "holdings.json",
)
ZHANG, LI, WANG = "330402199001011230", "330411198506152348", "330402197803203454"


def raw(name: str) -> dict:
    return json.loads((files("mock_gateway") / "data" / name).read_text(encoding="utf-8"))


def gb11643_check(first17: str) -> str:
    # Written out again rather than imported: the test must not trust the code it checks.
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def type_names() -> dict[str, str]:
    return {t["code"]: t["name"] for t in raw("certificate_types.json")["types"]}


@pytest.mark.parametrize("name", FILES)
def test_each_file_is_utf8_json_with_chinese_written_out(name):
    text = (files("mock_gateway") / "data" / name).read_text(encoding="utf-8")
    assert "\\u" not in text  # an escaped name cannot be reviewed
    assert json.loads(text)


def test_every_material_of_every_item_has_a_known_source():
    catalog = raw("catalog.json")
    known_types = type_names()
    for item in catalog["items"]:
        assert item["materials"], item["code"]
        for material in item["materials"]:
            if material["source"] == "certificate":
                assert material["certificate_type"] in known_types, item["code"]
            elif material["source"] == "upload":
                assert material["code"] in catalog["uploads"], item["code"]
            else:
                assert material["source"] == "paper", item["code"]
                assert material["code"] in catalog["papers"], item["code"]


def test_every_certificate_type_has_a_known_issuer():
    issuers = {i["code"] for i in raw("issuers.json")["issuers"]}
    assert all(t["issuer_code"] in issuers for t in raw("certificate_types.json")["types"])


def test_every_demo_citizen_has_a_valid_id_number():
    citizens = raw("population.json")["demo_citizens"]
    assert citizens
    for citizen in citizens:
        number = citizen["id_number"]
        assert len(number) == 18 and number[:17].isdigit(), citizen["name"]
        assert number[17] == gb11643_check(number[:17]), citizen["name"]


def test_the_three_demo_citizens_of_the_contract_are_there():
    citizens = {c["id_number"]: c["name"] for c in raw("population.json")["demo_citizens"]}
    assert citizens[ZHANG] == "张三"
    assert citizens[LI] == "李四"
    assert citizens[WANG] == "王五"


def test_demo_holdings_are_what_the_demo_and_its_tests_rely_on():
    names = type_names()
    held = {
        h["id_number"]: [
            (names[c["type_code"]], c.get("status", "valid")) for c in h["certificates"]
        ]
        for h in raw("holdings.json")["holders"]
    }
    assert {name for name, status in held[ZHANG] if status == "valid"} == {
        "居民身份证",
        "居民户口簿",
        "结婚证",
        "不动产权证书",
        "社会保障卡",
        "机动车驾驶证",
    }
    assert {status for _, status in held[ZHANG]} == {"valid", "expired", "revoked"}
    assert held[LI] == [("居民身份证", "valid"), ("居民户口簿", "valid")]
    assert held[WANG] == [("居民身份证", "valid")]


def test_every_holding_names_a_known_type_and_a_demo_citizen():
    names = type_names()
    citizens = {c["id_number"] for c in raw("population.json")["demo_citizens"]}
    for holder in raw("holdings.json")["holders"]:
        assert holder["id_number"] in citizens
        assert all(c["type_code"] in names for c in holder["certificates"])


def test_a_material_naming_an_unknown_upload_is_refused_with_its_place(monkeypatch):
    broken = copy.deepcopy(raw("catalog.json"))
    broken["items"][3]["materials"][1] = {"source": "upload", "code": "selfie"}
    real_load = datafiles.load
    monkeypatch.setattr(
        datafiles, "load", lambda name: broken if name == "catalog.json" else real_load(name)
    )
    with pytest.raises(DataError, match=r"catalog\.json: items\[3\]\.materials\[1\].*'selfie'"):
        datafiles.catalog.__wrapped__()


def test_a_misspelt_key_is_refused_rather_than_ignored(monkeypatch):
    broken = copy.deepcopy(raw("holdings.json"))
    broken["holders"][0]["certificates"][6]["valid_untill"] = "2021-09-30"
    monkeypatch.setattr(datafiles, "load", lambda name: broken)
    with pytest.raises(DataError, match=r"holders\[0\]\.certificates\[6\].*valid_untill"):
        datafiles.holdings.__wrapped__()


def test_a_file_that_is_not_json_is_named(monkeypatch, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "issuers.json").write_text('{"issuers": [', encoding="utf-8")
    monkeypatch.setattr(datafiles, "files", lambda package: tmp_path)
    with pytest.raises(DataError, match=r"mock_gateway/data/issuers\.json: not valid JSON"):
        datafiles.load("issuers.json")


def test_a_demo_citizen_with_a_wrong_check_digit_is_refused():
    with pytest.raises(DataError, match=r"demo_citizens\[0\].*GB 11643"):
        population._demo_citizen(0, {"id_number": ZHANG[:17] + "1", "name": "张三", "address": "-"})


def test_a_holding_without_fields_must_be_one_the_register_can_fill(monkeypatch):
    marriage = {"type_code": "113", "issued_on": "2018-10-01"}
    holders = [{"id_number": ZHANG, "name": "张三", "certificates": [marriage]}]
    monkeypatch.setattr(datafiles, "holdings", lambda: holders)
    with pytest.raises(DataError, match=r"certificates\[0\]: fields missing"):
        holdings._demo_holdings()
