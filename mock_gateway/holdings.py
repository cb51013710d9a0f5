"""Who holds which certificate: the demo citizens' holdings, then the seeded crowd's.

The demo holdings are data (data/holdings.json); the crowd's are drawn from the seed, so two
starts issue the same certificates with the same serial numbers.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from datetime import date

from mock_gateway import datafiles
from mock_gateway.certificates import (
    BIRTH,
    DIPLOMA,
    DRIVING,
    HOUSEHOLD,
    ID_CARD,
    MARRIAGE,
    PROPERTY,
    RESIDENCE,
    SOCIAL,
    Library,
    add_years,
)
from mock_gateway.population import DEMO_CITIZENS, JIAXING_REGIONS, Person


@dataclass(frozen=True)
class Holding:
    """A certificate a demo citizen holds; fields None means drawn from the register."""

    type_code: str
    issued_on: date
    status: str
    valid_until: date | None
    fields: dict | None


def _demo_holdings() -> dict[str, tuple[Holding, ...]]:
    """holdings.json by holder, in file order: the order fixes the serial numbers."""
    holdings = {}
    for i, holder in enumerate(datafiles.holdings()):
        held = []
        for j, entry in enumerate(holder["certificates"]):
            at = f"{datafiles.path_of('holdings.json')}: holders[{i}].certificates[{j}]"
            # Only these two have fields the register can supply.
            derived = entry["type_code"] in (ID_CARD, HOUSEHOLD)
            datafiles.check("fields" in entry or derived, at, "fields missing")
            until = entry.get("valid_until")
            held.append(
                Holding(
                    entry["type_code"],
                    date.fromisoformat(entry["issued_on"]),
                    entry.get("status", "valid"),
                    date.fromisoformat(until) if until else None,
                    entry.get("fields"),
                )
            )
        holdings[holder["id_number"]] = tuple(held)
    return holdings


DEMO_HOLDINGS = _demo_holdings()


def id_card_fields(p: Person, issued_on: date, valid_until: date | None) -> dict:
    return {
        "name": p.name,
        "gender": p.gender,
        "ethnicity": "汉",
        "birth_date": p.birth_date.isoformat(),
        "address": p.address,
        "id_number": p.id_number,
        "issuing_authority": f"{p.region_name}公安局"
        if p.region_code in JIAXING_REGIONS
        else f"{p.region_name}公安分局",
        "validity": f"{issued_on:%Y.%m.%d}-{valid_until:%Y.%m.%d}" if valid_until else "长期",
    }


def household_fields(p: Person, rng: random.Random) -> dict:
    return {
        "household_number": f"{rng.randrange(10**8, 10**9)}",
        "head_of_household": p.name,
        "relationship": "户主",
        "address": p.address,
        "id_number": p.id_number,
    }


def build(people: list[Person], seed: int) -> Library:
    """The demo holdings first (fixed), then the crowd (drawn from the seed)."""
    lib = Library(seed)
    rng = random.Random(seed + 1)
    by_id = {p.id_number: p for p in people}
    for id_number, held in DEMO_HOLDINGS.items():
        for holding in held:
            _issue_holding(lib, by_id[id_number], holding, rng)
    demo = {p.id_number for p in DEMO_CITIZENS}
    for person in people:
        if person.id_number not in demo:
            _crowd_holdings(lib, person, rng)
    return lib


def _issue_holding(lib: Library, p: Person, holding: Holding, rng: random.Random) -> dict:
    if holding.fields is not None:
        # Copied, so that no library can change what the next one is built from.
        fields = copy.deepcopy(holding.fields)
    elif holding.type_code == ID_CARD:
        return _give_id_card(
            lib, p, holding.issued_on, status=holding.status, valid_until=holding.valid_until
        )
    else:  # the household register: _demo_holdings lets no other type omit fields
        fields = household_fields(p, rng)
    return lib.issue(
        p,
        holding.type_code,
        holding.issued_on,
        fields,
        status=holding.status,
        valid_until=holding.valid_until,
    )


def _give_id_card(lib: Library, p: Person, issued_on: date, **kw) -> dict:
    years = 20 if issued_on.year - p.birth_date.year < 46 else None
    until = kw.pop("valid_until", None) or (add_years(issued_on, years) if years else None)
    return lib.issue(
        p, ID_CARD, issued_on, id_card_fields(p, issued_on, until), valid_until=until, **kw
    )


def _crowd_holdings(lib: Library, p: Person, rng: random.Random) -> None:
    # One rng feeds every step: reordering steps, or draws within one, changes every
    # certificate issued after it.
    for step in (_crowd_identity, _crowd_cards, _crowd_family, _crowd_records):
        step(lib, p, rng)


def _crowd_identity(lib: Library, p: Person, rng: random.Random) -> None:
    adult_on = add_years(p.birth_date, 18)
    issued = max(adult_on, date(2008, 1, 1)).replace(day=1)
    if rng.random() < 0.05:
        old = date(2004, 5, 1)
        _give_id_card(lib, p, old, valid_until=date(2024, 5, 1), status="expired")
    else:
        _give_id_card(lib, p, issued)
    if p.region_code in JIAXING_REGIONS:
        lib.issue(p, HOUSEHOLD, issued, household_fields(p, rng))
    else:
        lib.issue(
            p,
            RESIDENCE,
            date(2022, 3, 1),
            {
                "residence_address": f"嘉兴市南湖区{rng.randrange(1, 99)}号",
                "id_number": p.id_number,
            },
        )


def _crowd_cards(lib: Library, p: Person, rng: random.Random) -> None:
    if rng.random() < 0.5:
        lib.issue(
            p,
            SOCIAL,
            date(2020, 1, 1),
            {
                "social_security_number": p.id_number,
                "card_number": f"C{rng.randrange(10**10, 10**11)}",
                "bank": "中国农业银行嘉兴分行",
            },
        )
    if rng.random() < 0.4:
        lib.issue(
            p,
            DRIVING,
            date(2019, 6, 1),
            {
                "licence_number": p.id_number,
                "class": "C1",
                "first_issued": "2013-06-01",
                "file_number": f"3304{rng.randrange(10**7, 10**8)}",
            },
        )


def _crowd_family(lib: Library, p: Person, rng: random.Random) -> None:
    if rng.random() < 0.3:
        lib.issue(
            p,
            MARRIAGE,
            date(2015, 5, 20),
            {
                "certificate_number": f"J{p.region_code}-2015-{rng.randrange(1000, 9999)}",
                "registration_date": "2015-05-20",
                "holder": p.name,
            },
        )
    if rng.random() < 0.2:
        lib.issue(
            p,
            PROPERTY,
            date(2017, 11, 2),
            {
                "certificate_number": f"浙(2017)不动产权第{rng.randrange(10**6, 10**7)}号",
                "location": p.address,
                "area_m2": round(rng.uniform(50, 160), 1),
                "use": "住宅",
                "co_owners": [],
            },
        )


def _crowd_records(lib: Library, p: Person, rng: random.Random) -> None:
    if rng.random() < 0.25:
        lib.issue(
            p,
            DIPLOMA,
            date(2012, 6, 30),
            {
                "school": "嘉兴学院",
                "major": "计算机科学与技术",
                "level": "本科",
                "graduated_on": "2012-06-30",
            },
        )
    if p.birth_date.year >= 1996:
        lib.issue(
            p,
            BIRTH,
            p.birth_date,
            {
                "newborn_name": p.name,
                "birth_date": p.birth_date.isoformat(),
                "birth_place": "嘉兴市妇幼保健院",
                "gender": p.gender,
            },
        )
    if rng.random() < 0.03:
        lib.issue(
            p,
            SOCIAL,
            date(2012, 1, 1),
            {
                "social_security_number": p.id_number,
                "card_number": f"C{rng.randrange(10**10, 10**11)}",
                "bank": "中国建设银行嘉兴分行",
            },
            status="revoked",
        )
