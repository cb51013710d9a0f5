"""The population register: three fixed demo citizens and a deterministic crowd.

Every ID number carries a valid GB 11643 check digit and a birth date that matches its
holder; the crowd is drawn from a fixed seed, so two starts give the same register.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

JIAXING_REGIONS = {
    "330402": "嘉兴市南湖区",
    "330411": "嘉兴市秀洲区",
    "330421": "嘉善县",
    "330424": "海盐县",
    "330481": "海宁市",
    "330482": "平湖市",
    "330483": "桐乡市",
}
SHANGHAI_REGIONS = {
    "310101": "上海市黄浦区",
    "310104": "上海市徐汇区",
    "310115": "上海市浦东新区",
    "310117": "上海市松江区",
    "310118": "上海市青浦区",
}
REGIONS = {**JIAXING_REGIONS, **SHANGHAI_REGIONS}

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
    "许韩冯邓曹彭曾肖田董潘袁沈蒋蔡余杜叶程魏苏吕丁任卢姚钟"
)
GIVEN_MALE = [
    "伟",
    "强",
    "磊",
    "军",
    "勇",
    "杰",
    "涛",
    "斌",
    "浩",
    "俊",
    "建华",
    "志强",
    "国庆",
    "海峰",
    "文博",
    "子豪",
    "宇航",
    "明辉",
    "嘉诚",
    "振宇",
]
GIVEN_FEMALE = [
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "艳",
    "婷",
    "雪",
    "慧",
    "颖",
    "秀英",
    "玉兰",
    "晓燕",
    "丽华",
    "欣怡",
    "梓涵",
    "雨桐",
    "佳琪",
    "思琪",
    "梦瑶",
]


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


DEMO_CITIZENS = (
    _person("330402199001011230", "张三", "浙江省嘉兴市南湖区中山东路1号"),
    _person("330411198506152348", "李四", "浙江省嘉兴市秀洲区洪兴西路88号"),
    _person("330402197803203454", "王五", "浙江省嘉兴市南湖区广场路6号"),
)

STREETS = [
    "中山路",
    "建国路",
    "解放路",
    "人民路",
    "文昌路",
    "花园路",
    "新华路",
    "环城路",
    "学院路",
    "南溪路",
]


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
