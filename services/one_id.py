"""一证通办: which items the caller can finish with the certificates they hold today.

Eligibility is computed from the facts of services.held (certificate ids, types and status,
never field values, kept briefly in Redis); its docstring says how a revocation reaches them.
The views themselves are shared in-process per catalog version and set of usable
certificates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from services.catalog import IN_PERSON, Catalog, ItemView
from services.certificates import PURPOSE_ONE_ID
from services.held import HeldCertificates
from services.holders import Holders

MAX_VIEWS = 4096


class Held(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def usable(self) -> bool: ...


class OneId:
    def __init__(self, catalog: Catalog, held: HeldCertificates, holders: Holders) -> None:
        self.catalog = catalog
        self.held = held
        self.holders = holders
        # The views for a catalog version and a set of usable certificates, shared by every
        # request that has the same (so read-only); the oldest are dropped past the bound.
        self._views: dict[tuple, list[dict]] = {}

    async def items(self, user_id: str, request_id: str) -> list[dict]:
        holder = await self.holders.of_user(user_id)
        held = await self.held.of(holder, request_id, PURPOSE_ONE_ID)
        seen, items = await self.catalog.versioned_snapshot()
        usable = usable_by_type(held)
        key = (seen, tuple(sorted(usable.items())))
        views = self._views.get(key)
        if views is None:
            views = [_view(item, usable) for item in items]
            if len(self._views) >= MAX_VIEWS:
                del self._views[next(iter(self._views))]
            self._views[key] = views
        return views


def one_id_views(items: Sequence[ItemView], certificates: Sequence[Held]) -> list[dict]:
    """Per item: eligible when not in person, no paper, and every certificate material is
    satisfied by a certificate valid today (expired, revoked or forged ones do not count)."""
    usable = usable_by_type(certificates)
    return [_view(item, usable) for item in items]


def usable_by_type(certificates: Sequence[Held]) -> dict[str, str]:
    """The first usable certificate of each type, by type."""
    usable: dict[str, str] = {}
    for cert in certificates:
        if cert.usable:
            usable.setdefault(cert.type, cert.id)
    return usable


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
