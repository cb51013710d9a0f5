"""The city's indicators (2019 嘉兴 indicator system), computed live from the catalog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.catalog import IN_PERSON, ZERO_TRIP, Catalog, ItemView


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str
    numerator: int
    denominator: int
    target: float
    note: str = ""

    @property
    def value(self) -> float | None:
        if self.denominator == 0:
            return None
        return round(self.numerator / self.denominator, 4)

    @property
    def met(self) -> bool:
        return self.value is not None and self.value >= self.target

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "name": self.name,
            "value": self.value,
            "target": self.target,
            "met": self.met,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "note": self.note,
        }


def is_one_id(item: ItemView, issued_types: set[str]) -> bool:
    """一证通办: not in person, no paper, every certificate one the library issues."""
    if item.mode == IN_PERSON:
        return False
    for material in item.materials:
        if material.source == "paper":
            return False
        if material.source == "certificate" and material.certificate_type not in issued_types:
            return False
    return True


def compute(
    items: Sequence[ItemView],
    issued_types: set[str],
    completed_online: int = 0,
    completed_total: int = 0,
) -> list[Indicator]:
    not_secret = [i for i in items if not i.secret]
    livelihood = [i for i in items if i.livelihood]
    return [
        Indicator("online_available", "网上可办", sum(i.online for i in items), len(items), 1.0),
        Indicator("zero_trip", "跑零次", sum(i.mode == ZERO_TRIP for i in items), len(items), 0.9),
        Indicator(
            "handheld",
            "掌上办理",
            sum(i.handheld for i in not_secret),
            len(not_secret),
            0.8,
            "涉密事项除外 secret items excluded",
        ),
        Indicator(
            "one_id",
            "一证通办",
            sum(is_one_id(i, issued_types) for i in livelihood),
            len(livelihood),
            0.9,
            "民生事项 livelihood items",
        ),
        Indicator(
            "online_completion",
            "网上实际办结率",
            completed_online,
            completed_total,
            0.5,
            "办结件中网上办结的比例 share of completed applications finished online",
        ),
    ]


class Completions(Protocol):
    async def completed_count(self) -> int: ...


async def current(catalog: Catalog, applications: Completions) -> list[Indicator]:
    """The indicators as the database stands now.

    Every application Lingpao handles is filed online, so the completed ones it knows of
    were all finished online; completions at a counter are not Lingpao's to count.
    """
    completed = await applications.completed_count()
    return compute(
        await catalog.all_items(), await catalog.issued_certificate_types(), completed, completed
    )
