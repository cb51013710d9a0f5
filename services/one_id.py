"""一证通办: which items the caller can finish with the certificates they hold today."""

from __future__ import annotations

from collections.abc import Sequence

from services.catalog import IN_PERSON, ItemView
from services.certificates import CertificateView


def one_id_views(items: Sequence[ItemView], certificates: Sequence[CertificateView]) -> list[dict]:
    """Per item: eligible when not in person, no paper, and every certificate material is
    satisfied by a certificate valid today (expired, revoked or forged ones do not count)."""
    usable: dict[str, str] = {}
    for cert in certificates:
        if cert.usable:
            usable.setdefault(cert.type, cert.id)
    return [_view(item, usable) for item in items]


def _view(item: ItemView, usable: dict[str, str]) -> dict:
    materials = []
    for m in item.materials:
        satisfied_by = usable.get(m.certificate_type or "") if m.source == "certificate" else None
        materials.append(
            {
                "code": m.code,
                "name": m.name,
                "source": m.source,
                "certificate_type": m.certificate_type,
                "satisfied_by": satisfied_by,
            }
        )
    eligible = item.mode != IN_PERSON and all(
        m["source"] != "paper" and (m["source"] != "certificate" or m["satisfied_by"])
        for m in materials
    )
    missing = [
        m["code"]
        for m in materials
        if m["source"] == "paper" or (m["source"] == "certificate" and not m["satisfied_by"])
    ]
    return {
        "code": item.code,
        "name": item.name,
        "mode": item.mode,
        "eligible": eligible,
        "materials": materials,
        "missing": missing,
    }
