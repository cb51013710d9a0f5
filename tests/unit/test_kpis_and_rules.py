"""KPIs on a small fixed catalog, checked by hand; the rules for switching modes."""

from __future__ import annotations

import pytest

from core.errors import InvalidRequest, ModeBlocked
from services.catalog import ItemView, MaterialView, check_mode, zero_trip_blockers
from services.kpis import compute, is_one_id

ID_CARD = MaterialView("id_card", "居民身份证", "certificate", "111")
DIPLOMA = MaterialView("diploma", "学历证书", "certificate", "118")
UNKNOWN_CERT = MaterialView("pet_licence", "犬只登记证", "certificate", "999")
PHOTO = MaterialView("photo", "照片", "upload", None)
PAPER = MaterialView("paper_form", "纸质声明", "paper", None)
ISSUED = {"111", "118"}


def item(code, mode, *materials, online=True, handheld=True, livelihood=True, secret=False):
    return ItemView(
        code=code,
        name=code,
        department="d",
        category="c",
        mode=mode,
        handheld=handheld,
        livelihood=livelihood,
        secret=secret,
        online=online,
        version=1,
        materials=tuple(materials),
        guide_address="",
        guide_hours="",
    )


CATALOG = [
    item("A", "zero_trip", ID_CARD),  # one-id yes
    item("B", "one_trip", ID_CARD, PHOTO),  # one-id yes (uploads are fine)
    item("C", "in_person", ID_CARD),  # one-id no: in person
    item("D", "one_trip", ID_CARD, PAPER),  # one-id no: paper
    item("E", "zero_trip", UNKNOWN_CERT),  # one-id no: library lacks type
    item("F", "in_person", DIPLOMA, online=False, handheld=False, livelihood=False),
    item("G", "in_person", ID_CARD, secret=True, handheld=False, livelihood=False),
]


def by_key(indicators):
    return {i.key: i for i in indicators}


def test_the_five_indicators_on_a_hand_checked_catalog():
    found = by_key(compute(CATALOG, ISSUED, completed_online=3, completed_total=4))
    # online: every item but F -> 6/7
    assert (found["online_available"].numerator, found["online_available"].denominator) == (6, 7)
    # zero trip: A and E -> 2/7
    assert (found["zero_trip"].numerator, found["zero_trip"].denominator) == (2, 7)
    assert found["zero_trip"].value == round(2 / 7, 4) and not found["zero_trip"].met
    # handheld among the 6 items that are not secret: A..E are handheld -> 5/6, target 0.8
    assert (found["handheld"].numerator, found["handheld"].denominator) == (5, 6)
    assert found["handheld"].met
    # one-id among the 5 livelihood items A..E: A and B -> 2/5
    assert (found["one_id"].numerator, found["one_id"].denominator) == (2, 5)
    # online completion 3/4 = 0.75 >= 0.5
    assert found["online_completion"].value == 0.75 and found["online_completion"].met


def test_no_completed_applications_is_no_value_and_not_met():
    completion = by_key(compute(CATALOG, ISSUED))["online_completion"]
    assert completion.value is None and completion.met is False


def test_targets_are_the_city_plans():
    targets = {i.key: i.target for i in compute(CATALOG, ISSUED)}
    assert targets == {
        "online_available": 1.0,
        "zero_trip": 0.9,
        "handheld": 0.8,
        "one_id": 0.9,
        "online_completion": 0.5,
    }


def test_one_id_needs_a_type_the_library_issues():
    assert is_one_id(CATALOG[0], ISSUED)
    assert not is_one_id(CATALOG[4], ISSUED)
    assert is_one_id(CATALOG[4], ISSUED | {"999"})


def test_blockers_name_paper_originals_and_missing_online_intake():
    assert zero_trip_blockers(CATALOG[0]) == []
    assert [b["code"] for b in zero_trip_blockers(CATALOG[3])] == ["paper_form"]
    assert [b["reason"] for b in zero_trip_blockers(CATALOG[5])] == ["gateway_cannot_take_online"]


def test_the_mode_rules():
    check_mode(CATALOG[1], "zero_trip")
    check_mode(CATALOG[3], "in_person")
    check_mode(CATALOG[3], "one_trip")
    with pytest.raises(ModeBlocked):
        check_mode(CATALOG[3], "zero_trip")
    with pytest.raises(ModeBlocked):
        check_mode(CATALOG[5], "one_trip")
    with pytest.raises(InvalidRequest):
        check_mode(CATALOG[0], "by_pigeon")
