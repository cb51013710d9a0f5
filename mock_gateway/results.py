"""What a completed application produces (办结出证): a new certificate in the library.

An item whose catalog entry names a ``result_certificate_type`` (结婚登记 → 结婚证, say) ends
with that certificate issued to the applicant, signed by its issuer like every other one, so
the citizen's one-ID view shows it once the backend hears the application is completed.
Certificate numbers are drawn from the application id: the same application always gets the
same numbers, and only the certificate's identifier and dates are new.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime

from mock_gateway import datafiles
from mock_gateway.certificates import (
    BIRTH,
    DRIVING,
    MARRIAGE,
    PROPERTY,
    RESIDENCE,
    SOCIAL,
    Library,
)
from mock_gateway.population import Person, Register

IssueResult = Callable[[str, dict, dict], str | None]


@dataclasses.dataclass(frozen=True)
class Completion:
    """What the fields of a produced certificate are drawn from."""

    person: Person
    form: dict
    issued_on: date
    number: int  # from the application id, for certificate and card numbers
    authority: str  # the department that handled the item
    previous: dict  # fields of the holder's newest earlier certificate of this type, or {}

    def text(self, key: str, default: str) -> str:
        value = self.form.get(key)
        return value if isinstance(value, str) and value else default

    def carried(self, key: str, default: str) -> str:
        """The form's value, else the one on the certificate this replaces (a renewal)."""
        return self.text(key, str(self.previous.get(key) or default))


def mask(id_number: str) -> str:
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def _marriage(c: Completion) -> dict:
    fields = {
        "certificate_number": f"J{c.person.region_code}-{c.issued_on.year}-{c.number % 10**6:06d}",
        "registration_date": c.issued_on.isoformat(),
        "holder": c.person.name,
        "issuing_authority": c.authority,
    }
    if spouse := c.text("spouse_name", ""):
        fields["spouse_name"] = spouse
    if (spouse_id := c.text("spouse_id_number", "")) and len(spouse_id) > 8:
        fields["spouse_id_number_masked"] = mask(spouse_id)
    return fields


def _property(c: Completion) -> dict:
    area = c.form.get("area_m2")
    owners = c.form.get("co_owners")
    year = c.issued_on.year
    return {
        "certificate_number": f"浙({year})嘉兴市不动产权第{c.number % 10**7:07d}号",
        "location": c.text("location", c.person.address),
        # Unknown rather than invented: the area is the one figure a reader would check.
        "area_m2": area if isinstance(area, int | float) and not isinstance(area, bool) else None,
        "use": c.text("use", "住宅"),
        "co_owners": [o for o in owners if isinstance(o, str)] if isinstance(owners, list) else [],
        "issuing_authority": c.authority,
    }


def _social(c: Completion) -> dict:
    return {
        "social_security_number": c.person.id_number,
        "card_number": f"C3304{c.number % 10**7:07d}",
        "bank": c.text("bank", "中国工商银行嘉兴分行"),
        "issuing_authority": c.authority,
    }


def _driving(c: Completion) -> dict:
    # Renewal and replacement keep the licence's class, first issue and file number.
    return {
        "licence_number": c.person.id_number,
        "class": c.carried("class", "C1"),
        "first_issued": c.carried("first_issued", c.issued_on.isoformat()),
        "file_number": c.carried("file_number", f"3304{c.number % 10**8:08d}"),
        "issuing_authority": c.authority,
    }


def _birth(c: Completion) -> dict:
    return {
        "newborn_name": c.person.name,
        "birth_date": c.person.birth_date.isoformat(),
        "birth_place": c.text("birth_place", "嘉兴市妇幼保健院"),
        "gender": c.person.gender,
        "issuing_authority": c.authority,
    }


def _residence(c: Completion) -> dict:
    return {
        "residence_address": c.text("residence_address", c.person.address),
        "id_number": c.person.id_number,
        "issuing_authority": c.authority,
    }


FIELDS: dict[str, Callable[[Completion], dict]] = {
    MARRIAGE: _marriage,
    PROPERTY: _property,
    SOCIAL: _social,
    DRIVING: _driving,
    BIRTH: _birth,
    RESIDENCE: _residence,
}

# The loader knows the type exists; only here is it known whether its fields can be made,
# so an item naming, say, the ID card stops the gateway at start rather than at completion.
_UNFILLABLE = sorted(
    f"{entry['code']} → {entry['result_certificate_type']}"
    for entry in datafiles.catalog()["items"]
    if "result_certificate_type" in entry and entry["result_certificate_type"] not in FIELDS
)
datafiles.check(
    not _UNFILLABLE,
    datafiles.path_of("catalog.json"),
    f"no fields are known for result_certificate_type of {', '.join(_UNFILLABLE)}",
)


def issuer(library: Library, register: Register) -> IssueResult:
    """issue(application_id, item, body) → the new certificate's id, or None if none is due."""

    def issue(application_id: str, item: dict, body: dict) -> str | None:
        type_code = item.get("result_certificate_type")
        # The library holds certificates of register people only, and every item that
        # produces one asks for the applicant's ID card from it: an unknown applicant has
        # been rejected before this point, so None here is a guard, not a path.
        person = register.find(str(body["applicant"]["id_number"]))
        if type_code is None or person is None:
            return None
        name = body["applicant"].get("name")
        if isinstance(name, str) and name:
            person = dataclasses.replace(person, name=name)
        form = body.get("form")
        # The backend judges validity by its UTC date; a local date runs a day ahead for
        # eight hours a day and would show the new certificate as not yet valid.
        today = datetime.now(UTC).date()
        completion = Completion(
            person=person,
            form=form if isinstance(form, dict) else {},
            issued_on=today,
            number=int(hashlib.sha256(application_id.encode()).hexdigest(), 16),
            authority=item["department"],
            previous=_newest_fields(library, person.id_number, type_code),
        )
        return library.issue(person, type_code, today, FIELDS[type_code](completion))["id"]

    return issue


def _newest_fields(library: Library, holder_id_number: str, type_code: str) -> dict:
    held = [d for d in library.list_for(holder_id_number) if d["type_code"] == type_code]
    return max(held, key=lambda d: d["issued_on"])["fields"] if held else {}
