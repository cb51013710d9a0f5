"""The population register: the demo citizens and a deterministic crowd.

Every ID number carries a valid GB 11643 check digit and a birth date that matches its
holder; the crowd is drawn from a fixed seed, so two starts give the same register. Who the
demo citizens are, and the regions, names and streets the crowd is drawn from, are data:
data/population.json.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from mock_gateway import datafiles

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

_DATA = datafiles.population()
JIAXING_REGIONS: dict[str, str] = _DATA["regions"]["jiaxing"]
SHANGHAI_REGIONS: dict[str, str] = _DATA["regions"]["shanghai"]
REGIONS = {**JIAXING_REGIONS, **SHANGHAI_REGIONS}
SURNAMES = tuple(_DATA["surnames"])
GIVEN_MALE = tuple(_DATA["given_names"]["male"])
GIVEN_FEMALE = tuple(_DATA["given_names"]["female"])
STREETS = tuple(_DATA["streets"])


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def is_valid_id_number(value: str) -> bool:
    if len(value) != 18 or not value[:17].isdigit():
        return False
    return check_char(value[:17]) == value[17].upper()


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str
    gender: str  # 男 / 女
    birth_date: date
    region_code: str
    address: str

    @property
    def region_name(self) -> str:
        return REGIONS[self.region_code]


def _person(id_number: str, name: str, address: str) -> Person:
    birth = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    gender = "男" if int(id_number[16]) % 2 else "女"
    return Person(id_number, name, gender, birth, id_number[:6], address)


def _demo_citizen(index: int, citizen: dict) -> Person:
    where = f"{datafiles.path_of('population.json')}: demo_citizens[{index}]"
    id_number = citizen["id_number"]
    datafiles.check(is_valid_id_number(id_number), where, "ID number fails the GB 11643 check")
    # Look-ups upper-case what they are given, so a lower-case x would never be found.
    datafiles.check(id_number == id_number.upper(), where, "write the check character as X")
    datafiles.check(id_number[:6] in REGIONS, where, "ID number's region is not in regions")
    try:
        return _person(id_number, citizen["name"], citizen["address"])
    except ValueError as exc:
        raise datafiles.DataError(f"{where}: ID number holds no real birth date") from exc


DEMO_CITIZENS = tuple(_demo_citizen(i, c) for i, c in enumerate(_DATA["demo_citizens"]))


def generate(seed: int = 20190705, count: int = 220) -> list[Person]:
    rng = random.Random(seed)
    people: list[Person] = list(DEMO_CITIZENS)
    seen = {p.id_number for p in people}
    jiaxing = sorted(JIAXING_REGIONS)
    shanghai = sorted(SHANGHAI_REGIONS)
    while len(people) < len(DEMO_CITIZENS) + count:
        # About one in eight lives in Shanghai, for cross-city (长三角) handling.
        region = rng.choice(shanghai) if rng.random() < 0.125 else rng.choice(jiaxing)
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 66))
        sequence = rng.randrange(0, 1000)
        first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
        id_number = first17 + check_char(first17)
        if id_number in seen:
            continue
        seen.add(id_number)
        male = sequence % 2 == 1
        given = rng.choice(GIVEN_MALE if male else GIVEN_FEMALE)
        name = rng.choice(SURNAMES) + given
        address = f"{REGIONS[region]}{rng.choice(STREETS)}{rng.randrange(1, 400)}号"
        people.append(_person(id_number, name, address))
    return people


class Register:
    """Look-ups by ID number, as the identity provider and certificate library need them."""

    def __init__(self, people: list[Person]) -> None:
        self.people = people
        self._by_id = {p.id_number: p for p in people}

    def find(self, id_number: str) -> Person | None:
        return self._by_id.get(id_number.upper())
