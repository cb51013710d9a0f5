"""The item catalog (事项库): what a citizen can apply for, and how.

The starting modes are a real city's: many items still in person or one-trip although
nothing blocks zero-trip handling, a few that can never go zero-trip (a paper original is
required, or the gateway cannot take the item online), so the KPIs start short of target.
The items themselves are data: data/catalog.json, with certificate materials named after
data/certificate_types.json.
"""

from __future__ import annotations

from mock_gateway import datafiles

_DATA = datafiles.catalog()
HALL: str = _DATA["hall"]
HOURS: str = _DATA["hours"]
CERT_NAMES = {t["code"]: t["name"] for t in datafiles.certificate_types()}
CERT_CODES = {t["code"]: t["material_code"] for t in datafiles.certificate_types()}
UPLOADS: dict[str, str] = _DATA["uploads"]
PAPERS: dict[str, str] = _DATA["papers"]


def _material(ref: dict) -> dict:
    if ref["source"] == "certificate":
        cert_type = ref["certificate_type"]
        return {
            "code": CERT_CODES[cert_type],
            "name": CERT_NAMES[cert_type],
            "source": "certificate",
            "certificate_type": cert_type,
        }
    names = UPLOADS if ref["source"] == "upload" else PAPERS
    return {
        "code": ref["code"],
        "name": names[ref["code"]],
        "source": ref["source"],
        "certificate_type": None,
    }


def build() -> list[dict]:
    items = []
    for entry in _DATA["items"]:
        materials = [_material(ref) for ref in entry["materials"]]
        item = {
            "code": entry["code"],
            "name": entry["name"],
            "category": entry["category"],
            "department": entry["department"],
            "livelihood": entry["livelihood"],
            "secret": entry["secret"],
            "handheld": entry["handheld"],
            "online": entry["online"],
            "mode": entry["mode"],
            "materials": materials,
            "guide": {
                "address": f"{HALL}{entry['window']}号窗口",
                "hours": HOURS,
                "bring": [m["code"] for m in materials],
            },
        }
        # Served only where there is one, so every other item reads as it did before; the
        # backend can tell from it that a completion will add to the citizen's certificates.
        if "result_certificate_type" in entry:
            item["result_certificate_type"] = entry["result_certificate_type"]
        items.append(item)
    return items
