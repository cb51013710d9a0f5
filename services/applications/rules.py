"""Applications as the domain reasons about them: statuses, the body's fingerprint, and
which materials a filing satisfies. No I/O here."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from core.ids import is_certificate_id
from services.catalog import ItemView
from services.held import HeldCertificate
from services.times import rfc3339
from services.uploads.rules import UploadView, can_satisfy

QUEUED, SUBMITTED, ACCEPTED, COMPLETED, REJECTED = (
    "queued",
    "submitted",
    "accepted",
    "completed",
    "rejected",
)
# Status only moves forward; a callback that would move it back or sideways changes nothing.
RANK = {QUEUED: 0, SUBMITTED: 1, ACCEPTED: 2, COMPLETED: 3, REJECTED: 3}
FINAL = (COMPLETED, REJECTED)


def moves_forward(current: str, new: str) -> bool:
    return new in RANK and current not in FINAL and RANK[new] > RANK[current]


def fingerprint(body: Mapping[str, object]) -> str:
    """The same body in any key order gives the same fingerprint."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class ApplicationView:
    id: str
    user_id: str
    item_code: str
    status: str
    history: tuple[tuple[str, datetime], ...]
    created_at: datetime
    materials: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    form: Mapping[str, object] = field(default_factory=dict)
    materials_verified: bool = True
    gateway_application_id: str | None = None
    result_certificate_id: str | None = None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "item_code": self.item_code,
            "status": self.status,
            "history": [{"status": s, "at": rfc3339(at)} for s, at in self.history],
            "created_at": rfc3339(self.created_at),
            "materials_verified": self.materials_verified,
            "result_certificate_id": self.result_certificate_id,
        }


@dataclass(frozen=True)
class Problem:
    code: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"material": self.code, "problem": self.problem}


def check_materials(
    item: ItemView,
    given: Mapping[str, Mapping[str, str]],
    certificates: Sequence[HeldCertificate] | None,
    uploads: Mapping[str, UploadView],
) -> list[Problem]:
    """What keeps the given materials from serving the item, material by material.

    `certificates` are the caller's own, as services.held knows them; None means the
    library could not be asked, and certificate materials are then left to the gateway,
    which checks them again on intake. `uploads` holds only the caller's own uploads.
    """
    problems = [
        Problem(code, "not_a_material_of_this_item")
        for code in given
        if code not in {m.code for m in item.materials}
    ]
    held = {c.id: c for c in certificates or []}
    for material in item.materials:
        if material.source == "paper":
            continue  # a paper original would have kept the item from online handling
        chosen = given.get(material.code)
        if not chosen:
            problems.append(Problem(material.code, "missing"))
            continue
        if "upload_id" in chosen:
            upload = uploads.get(chosen["upload_id"])
            problems += _upload_problems(
                material.code, material.source, material.certificate_type, upload
            )
        elif "certificate_id" in chosen:
            if material.source != "certificate":
                problems.append(Problem(material.code, "needs_an_upload"))
            elif not is_certificate_id(chosen["certificate_id"]):
                # Refused here even while the library cannot be asked: an identifier whose
                # GB/T 36904 check character fails names no certificate anywhere.
                problems.append(Problem(material.code, "certificate_id_invalid"))
            elif certificates is not None:
                problems += _certificate_problems(
                    material.code, material.certificate_type, held.get(chosen["certificate_id"])
                )
        else:
            problems.append(Problem(material.code, "missing"))
    return problems


def _certificate_problems(
    code: str, wanted_type: str | None, cert: HeldCertificate | None
) -> list[Problem]:
    if cert is None:
        return [Problem(code, "certificate_not_found")]
    if cert.type != wanted_type:
        return [Problem(code, "wrong_certificate_type")]
    if not cert.usable:
        return [Problem(code, f"certificate_{cert.status}")]
    return []


def _upload_problems(
    code: str, source: str, certificate_type: str | None, upload: UploadView | None
) -> list[Problem]:
    if upload is None:
        return [Problem(code, "upload_not_found")]
    if can_satisfy(upload, source, certificate_type):
        return []
    if upload.flagged:
        # OCR found someone else's number on it, or could not read it.
        return [Problem(code, "upload_flagged")]
    return [Problem(code, "needs_a_certificate")]
