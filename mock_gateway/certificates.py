"""The certificate library (电子证照库): typed certificates signed by their issuers.

Identifiers follow the GB/T 36904 shape
``1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check character>``, the check
character ISO 7064 MOD 37,36 over every letter and digit before it. Each issuer signs the
canonical JSON of a certificate (everything but ``signature``) with its own key, Ed25519 or
SM2 as issuers.json says (`mock_gateway.seals`); the keys are derived from the seed, so two
starts give the same keys and content (an SM2 signature draws a fresh k: its bytes differ).
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from datetime import date

from mock_gateway import datafiles, seals
from mock_gateway.population import Person


@dataclass(frozen=True)
class Issuer:
    code: str
    name: str
    seal: str  # seals.ED25519 or seals.SM2


@dataclass(frozen=True)
class CertType:
    code: str
    name: str
    issuer: Issuer
    years_valid: int | None  # None: no expiry (长期)


ISSUERS = tuple(Issuer(i["code"], i["name"], i["seal"]) for i in datafiles.issuers())
_ISSUER_BY_CODE = {issuer.code: issuer for issuer in ISSUERS}
TYPES = {
    t["code"]: CertType(t["code"], t["name"], _ISSUER_BY_CODE[t["issuer_code"]], t["years_valid"])
    for t in datafiles.certificate_types()
}

# Type codes the code itself names (the crowd generator, the holder's ID type), so
# certificate_types.json must define them all.
ID_CARD, HOUSEHOLD, MARRIAGE, PROPERTY, SOCIAL = "111", "112", "113", "114", "115"
DRIVING, BIRTH, DIPLOMA, RESIDENCE = "116", "117", "118", "119"
HOLDER_ID_TYPE = ID_CARD  # 居民身份证 as the holder's identity document
_NAMED = (ID_CARD, HOUSEHOLD, MARRIAGE, PROPERTY, SOCIAL, DRIVING, BIRTH, DIPLOMA, RESIDENCE)
_MISSING = sorted(set(_NAMED) - TYPES.keys())
_WHERE = datafiles.path_of("certificate_types.json")
datafiles.check(not _MISSING, _WHERE, f"types {', '.join(_MISSING)} are needed but not defined")

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
        self._keys = {i.code: seals.derive(seed, i.code, i.seal) for i in ISSUERS}
        self.by_id: dict[str, dict] = {}
        self.by_holder: dict[str, list[str]] = {}
        self._serial = 0

    def issuer_keys(self) -> list[dict]:
        return [
            {
                "code": issuer.code,
                "name": issuer.name,
                "jwk": self._keys[issuer.code].jwk(),
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
            valid_until = add_years(issued_on, cert_type.years_valid)
        cert_id = identifier(cert_type.code, cert_type.issuer.code, self._serial)
        document: dict = {
            "id": cert_id,
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
        self.by_id[cert_id] = document
        self.by_holder.setdefault(holder.id_number, []).append(cert_id)
        return document

    def sign(self, document: dict) -> None:
        key = self._keys[document["issuer_code"]]
        document["signature"] = {
            "alg": key.alg,
            "kid": key.kid,
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

    def misnumber(self, certificate_id: str) -> dict | None:
        """Development knob: the certificate is served from now on under an identifier whose
        check character is wrong, sealed by its issuer as it is: a faulty library, not a
        forger, so only the identifier check can catch it."""
        document = self.by_id.pop(certificate_id, None)
        if document is None:
            return None
        body, check = certificate_id.rsplit(".", 1)
        document["id"] = f"{body}.{next(c for c in _ALNUM if c != check)}"
        self.sign(document)
        self.by_id[document["id"]] = document
        held = self.by_holder[document["holder_id_number"]]
        held[held.index(certificate_id)] = document["id"]
        return copy.deepcopy(document)


def type_list() -> list[dict]:
    """The certificate types this library issues, with their issuers."""
    return [
        {"code": t.code, "name": t.name, "issuer_code": t.issuer.code, "issuer_name": t.issuer.name}
        for t in TYPES.values()
    ]


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
