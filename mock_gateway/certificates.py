"""The certificate library (电子证照库): typed certificates signed by their issuers.

Identifiers follow the GB/T 36904 shape
``1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check character>``. Each
issuer signs the canonical JSON of a certificate (everything but ``signature``) with its own
Ed25519 key; the keys are derived from the seed, so two starts give the same bytes.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import random
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mock_gateway.population import JIAXING_REGIONS, Person

HOLDER_ID_TYPE = "111"  # 居民身份证 as the holder's identity document


@dataclass(frozen=True)
class Issuer:
    code: str
    name: str


@dataclass(frozen=True)
class CertType:
    code: str
    name: str
    issuer: Issuer
    years_valid: int | None  # None: no expiry (长期)


POLICE = Issuer("11330400002570581X", "嘉兴市公安局")
CIVIL = Issuer("113304000025703867", "嘉兴市民政局")
LAND = Issuer("11330400MB1950402A", "嘉兴市自然资源和规划局")
HRSS = Issuer("113304000025710123", "嘉兴市人力资源和社会保障局")
TRAFFIC = Issuer("11330400002571218K", "嘉兴市公安局交通警察支队")
HEALTH = Issuer("11330400MB1806543N", "嘉兴市卫生健康委员会")
EDU = Issuer("11330000002482160U", "浙江省教育厅")
ISSUERS = (POLICE, CIVIL, LAND, HRSS, TRAFFIC, HEALTH, EDU)

TYPES = {
    t.code: t
    for t in (
        CertType("111", "居民身份证", POLICE, 20),
        CertType("112", "居民户口簿", POLICE, None),
        CertType("113", "结婚证", CIVIL, None),
        CertType("114", "不动产权证书", LAND, None),
        CertType("115", "社会保障卡", HRSS, 10),
        CertType("116", "机动车驾驶证", TRAFFIC, 10),
        CertType("117", "出生医学证明", HEALTH, None),
        CertType("118", "学历证书", EDU, None),
        CertType("119", "浙江省居住证", POLICE, 5),
    )
}
ID_CARD, HOUSEHOLD, MARRIAGE, PROPERTY, SOCIAL, DRIVING, BIRTH, DIPLOMA, RESIDENCE = TYPES

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def check_character(body: str) -> str:
    """ISO 7064 MOD 37,36 over the identifier's letters and digits."""
    product = 36
    for ch in body:
        if ch not in _ALNUM:
            continue
        total = (product + _ALNUM.index(ch)) % 36 or 36
        product = (total * 2) % 37
    return _ALNUM[(37 - product) % 36]


def identifier(type_code: str, issuer_code: str, serial: int, version: int = 1) -> str:
    body = f"1.2.156.3005.2.{type_code}.{issuer_code}.{serial:07d}.{version:03d}"
    return f"{body}.{check_character(body)}"


def canonical(document: dict) -> bytes:
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Library:
    """Certificates by holder, signed by deterministic issuer keys."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._keys = {
            issuer.code: Ed25519PrivateKey.from_private_bytes(
                hashlib.sha256(f"issuer:{seed}:{issuer.code}".encode()).digest()
            )
            for issuer in ISSUERS
        }
        self.by_id: dict[str, dict] = {}
        self.by_holder: dict[str, list[str]] = {}
        self._serial = 0

    def issuer_keys(self) -> list[dict]:
        return [
            {
                "code": issuer.code,
                "name": issuer.name,
                "jwk": {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "kid": issuer.code,
                    "alg": "EdDSA",
                    "x": _b64url(
                        self._keys[issuer.code]
                        .public_key()
                        .public_bytes(Encoding.Raw, PublicFormat.Raw)
                    ),
                },
            }
            for issuer in ISSUERS
        ]

    def issue(
        self,
        holder: Person,
        type_code: str,
        issued_on: date,
        fields: dict,
        status: str = "valid",
        valid_until: date | None = None,
    ) -> dict:
        cert_type = TYPES[type_code]
        self._serial += 1
        if valid_until is None and cert_type.years_valid:
            valid_until = _add_years(issued_on, cert_type.years_valid)
        document = {
            "id": identifier(cert_type.code, cert_type.issuer.code, self._serial),
            "type_code": cert_type.code,
            "type_name": cert_type.name,
            "holder_name": holder.name,
            "holder_id_number": holder.id_number,
            "holder_id_type": HOLDER_ID_TYPE,
            "issuer_code": cert_type.issuer.code,
            "issuer_name": cert_type.issuer.name,
            "issued_on": issued_on.isoformat(),
            "valid_from": issued_on.isoformat(),
            "valid_until": valid_until.isoformat() if valid_until else None,
            "status": status,
            "fields": fields,
        }
        self.sign(document)
        self.by_id[document["id"]] = document
        self.by_holder.setdefault(holder.id_number, []).append(document["id"])
        return document

    def sign(self, document: dict) -> None:
        key = self._keys[document["issuer_code"]]
        document["signature"] = {
            "alg": "EdDSA",
            "kid": document["issuer_code"],
            "value": _b64url(key.sign(canonical(document))),
        }

    def list_for(self, holder_id_number: str) -> list[dict]:
        return [copy.deepcopy(self.by_id[i]) for i in self.by_holder.get(holder_id_number, [])]

    def get(self, certificate_id: str, holder_id_number: str) -> dict | None:
        document = self.by_id.get(certificate_id)
        if document is None or document["holder_id_number"] != holder_id_number:
            return None
        return copy.deepcopy(document)

    def tamper(self, certificate_id: str) -> dict | None:
        """Development knob: change a field without re-signing, as a forger would."""
        document = self.by_id.get(certificate_id)
        if document is None:
            return None
        document["fields"] = {**document["fields"], "tampered": True}
        return copy.deepcopy(document)


def type_list() -> list[dict]:
    """The certificate types this library issues, with their issuers."""
    return [{"code": t.code, "name": t.name, "issuer_code": t.issuer.code,
             "issuer_name": t.issuer.name} for t in TYPES.values()]


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


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
    zhang, li, wang = people[0], people[1], people[2]
    _give_id_card(lib, zhang, date(2016, 4, 12))
    lib.issue(zhang, HOUSEHOLD, date(2012, 8, 1), household_fields(zhang, rng))
    lib.issue(
        zhang,
        MARRIAGE,
        date(2018, 10, 1),
        {
            "certificate_number": "J330402-2018-004521",
            "registration_date": "2018-10-01",
            "holder": zhang.name,
            "spouse_name": "林晓燕",
            "spouse_id_number_masked": "3304**********1427",
        },
    )
    lib.issue(
        zhang,
        PROPERTY,
        date(2019, 6, 18),
        {
            "certificate_number": "浙(2019)嘉兴市不动产权第0031245号",
            "location": "嘉兴市南湖区凌公塘路168号3幢1201室",
            "area_m2": 118.6,
            "use": "住宅",
            "co_owners": ["林晓燕"],
        },
    )
    lib.issue(
        zhang,
        SOCIAL,
        date(2021, 3, 5),
        {
            "social_security_number": zhang.id_number,
            "card_number": "C33040012345",
            "bank": "中国工商银行嘉兴分行",
        },
    )
    lib.issue(
        zhang,
        DRIVING,
        date(2021, 9, 30),
        {
            "licence_number": zhang.id_number,
            "class": "C1",
            "first_issued": "2011-09-30",
            "file_number": "330400123456",
        },
    )
    # History a real library keeps: an expired licence and a property title since revoked.
    lib.issue(
        zhang,
        DRIVING,
        date(2011, 9, 30),
        {
            "licence_number": zhang.id_number,
            "class": "C1",
            "first_issued": "2011-09-30",
            "file_number": "330400123456",
        },
        status="expired",
        valid_until=date(2021, 9, 30),
    )
    lib.issue(
        zhang,
        PROPERTY,
        date(2014, 5, 20),
        {
            "certificate_number": "浙(2014)嘉兴市不动产权第0008812号",
            "location": "嘉兴市南湖区禾兴南路55号2幢601室",
            "area_m2": 76.2,
            "use": "住宅",
            "co_owners": [],
        },
        status="revoked",
    )
    _give_id_card(lib, li, date(2015, 7, 1))
    lib.issue(li, HOUSEHOLD, date(2010, 3, 15), household_fields(li, rng))
    _give_id_card(lib, wang, date(2018, 1, 9))
    for person in people[3:]:
        _crowd_holdings(lib, person, rng)
    return lib


def _give_id_card(lib: Library, p: Person, issued_on: date, **kw) -> dict:
    years = 20 if issued_on.year - p.birth_date.year < 46 else None
    until = kw.pop("valid_until", None) or (_add_years(issued_on, years) if years else None)
    return lib.issue(
        p, ID_CARD, issued_on, id_card_fields(p, issued_on, until), valid_until=until, **kw
    )


def _crowd_holdings(lib: Library, p: Person, rng: random.Random) -> None:
    adult_on = _add_years(p.birth_date, 18)
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
