"""The catalog as the domain reasons about it: plain item views and the rules for modes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.errors import InvalidRequest, ModeBlocked

MODES = ("in_person", "one_trip", "zero_trip")
IN_PERSON, ONE_TRIP, ZERO_TRIP = MODES


@dataclass(frozen=True)
class MaterialView:
    code: str
    name: str
    source: str
    certificate_type: str | None

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "source": self.source,
            "certificate_type": self.certificate_type,
        }


@dataclass(frozen=True)
class ItemView:
    """An item as the domain reasons about it: plain data, no ORM."""

    code: str
    name: str
    department: str
    category: str
    mode: str
    handheld: bool
    livelihood: bool
    secret: bool
    online: bool
    version: int
    materials: tuple[MaterialView, ...]
    guide_address: str
    guide_hours: str
    mode_changed_by: str = ""
    mode_changed_at: datetime | None = None
    mode_reason: str = ""

    def summary(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "department": self.department,
            "category": self.category,
            "mode": self.mode,
            "handheld": self.handheld,
            "livelihood": self.livelihood,
        }

    def detail(self) -> dict:
        return {
            **self.summary(),
            "secret": self.secret,
            "online": self.online,
            "materials": [m.as_dict() for m in self.materials],
            "version": self.version,
            "guide": {
                "address": self.guide_address,
                "hours": self.guide_hours,
                "bring": [m.code for m in self.materials],
            },
        }


def zero_trip_blockers(item: ItemView) -> list[dict[str, str | None]]:
    """What keeps an item from zero-trip handling: paper originals, or no online intake."""
    blockers: list[dict[str, str | None]] = [
        {"kind": "material", "code": m.code, "name": m.name, "reason": "paper_original"}
        for m in item.materials
        if m.source == "paper"
    ]
    if not item.online:
        blockers.append(
            {
                "kind": "intake",
                "code": None,
                "name": "网上受理",
                "reason": "gateway_cannot_take_online",
            }
        )
    return blockers


def check_mode(item: ItemView, mode: str) -> None:
    if mode not in MODES:
        raise InvalidRequest(
            f"mode 必须是 {', '.join(MODES)} 之一",
            fields=[{"field": "mode", "problem": "unknown mode"}],
        )
    if mode == ZERO_TRIP:
        blockers = zero_trip_blockers(item)
        if blockers:
            raise ModeBlocked(blockers=blockers)
    if mode == ONE_TRIP and not item.online:
        raise ModeBlocked(blockers=[b for b in zero_trip_blockers(item) if b["kind"] == "intake"])
