"""Where the catalog is kept: the port the catalog service needs, and its tortoise version.

Every ORM query about items lives here; `tests.fakes.FakeItemRecords` is the in-memory twin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.audit import AuditWriter
from services.catalog.rules import IN_PERSON, MODES, ItemView, MaterialView
from store.models import CertificateType, Item, Material


@dataclass(frozen=True)
class ModeChange:
    """A mode switch as ops asked for it, to be applied only over `expected_version`."""

    code: str
    mode: str
    expected_version: int
    reason: str
    actor: str
    actor_user_id: str | None
    request_id: str
    at: datetime


class ItemRecords(Protocol):
    async def all_items(self) -> list[ItemView]: ...

    async def get(self, code: str) -> ItemView | None: ...

    async def is_empty(self) -> bool: ...

    async def issued_certificate_types(self) -> set[str]: ...

    async def switch_mode(self, change: ModeChange, before: ItemView) -> bool:
        """Applies the change and its audit entry together; False if the version moved."""
        ...

    async def replace_from_gateway(
        self, items: list[dict], types: list[dict], at: datetime
    ) -> dict[str, int]: ...


def _view(item: Item, materials: list[Material]) -> ItemView:
    return ItemView(
        code=item.code,
        name=item.name,
        department=item.department,
        category=item.category,
        mode=item.mode,
        handheld=item.handheld,
        livelihood=item.livelihood,
        secret=item.secret,
        online=item.online,
        version=item.version,
        materials=tuple(
            MaterialView(m.code, m.name, m.source, m.certificate_type)
            for m in sorted(materials, key=lambda m: m.position)
        ),
        guide_address=item.guide_address,
        guide_hours=item.guide_hours,
        mode_changed_by=item.mode_changed_by,
        mode_changed_at=item.mode_changed_at,
        mode_reason=item.mode_reason,
    )


class TortoiseItemRecords:
    def __init__(self, audit: AuditWriter) -> None:
        self.audit = audit

    async def all_items(self) -> list[ItemView]:
        """Every item with its materials, in code order: two queries, whatever the size."""
        items = await Item.all().order_by("code")
        by_item: dict[str, list[Material]] = {}
        for material in await Material.all():
            by_item.setdefault(material.item_id, []).append(material)  # type: ignore[attr-defined]
        return [_view(i, by_item.get(i.code, [])) for i in items]

    async def get(self, code: str) -> ItemView | None:
        item = await Item.get_or_none(code=code)
        if item is None:
            return None
        return _view(item, await Material.filter(item_id=code))

    async def is_empty(self) -> bool:
        return not await Item.exists()

    async def issued_certificate_types(self) -> set[str]:
        return {str(c) for c in await CertificateType.all().values_list("code", flat=True)}

    async def switch_mode(self, change: ModeChange, before: ItemView) -> bool:
        after_version = change.expected_version + 1
        async with in_transaction() as conn:
            # The version in the WHERE clause is the lock: of two writers with the same
            # version, exactly one updates a row.
            changed = (
                await Item.filter(code=change.code, version=change.expected_version)
                .using_db(conn)
                .update(
                    mode=change.mode,
                    version=after_version,
                    mode_set_by_ops=True,
                    mode_changed_by=change.actor,
                    mode_changed_at=change.at,
                    mode_reason=change.reason[:500],
                )
            )
            if not changed:
                return False
            await self.audit(
                actor=change.actor,
                action="item.mode_switch",
                target=f"item:{change.code}",
                before={"mode": before.mode, "version": before.version},
                after={"mode": change.mode, "version": after_version},
                reason=change.reason,
                actor_user_id=change.actor_user_id,
                request_id=change.request_id,
            )
        return True

    async def replace_from_gateway(
        self, items: list[dict], types: list[dict], at: datetime
    ) -> dict[str, int]:
        """Upserts the gateway's catalog in one transaction; a mode ops set is kept."""
        counts = {"created": 0, "updated": 0, "kept_ops_mode": 0}
        async with in_transaction() as conn:
            known = {
                str(c)
                for c in await CertificateType.all().using_db(conn).values_list("code", flat=True)
            }
            await CertificateType.bulk_create(
                [
                    CertificateType(
                        code=str(t["code"]),
                        name=str(t.get("name", "")),
                        issuer_name=str(t.get("issuer_name", "")),
                    )
                    for t in types
                    if str(t["code"]) not in known
                ],
                using_db=conn,
            )
            existing = {i.code: i for i in await Item.all().using_db(conn)}
            materials = []
            for data in items:
                item, outcome = await _upsert(data, existing.get(data["code"]), at, conn)
                counts[outcome] += 1
                materials += [
                    Material(
                        item_id=item.code,
                        code=m["code"],
                        name=m["name"],
                        source=m["source"],
                        certificate_type=m.get("certificate_type"),
                        position=position,
                    )
                    for position, m in enumerate(data.get("materials") or [])
                ]
            await Material.filter(item_id__in=[d["code"] for d in items]).using_db(conn).delete()
            await Material.bulk_create(materials, using_db=conn)
        return counts


async def _upsert(
    data: dict, item: Item | None, now: datetime, conn: BaseDBAsyncClient
) -> tuple[Item, str]:
    guide = data.get("guide") or {}
    fields = {
        "name": data["name"],
        "category": data["category"],
        "department": data["department"],
        "livelihood": bool(data.get("livelihood")),
        "secret": bool(data.get("secret")),
        "handheld": bool(data.get("handheld")),
        "online": bool(data.get("online")),
        "guide_address": str(guide.get("address", "")),
        "guide_hours": str(guide.get("hours", "")),
        "synced_at": now,
    }
    mode = data.get("mode") if data.get("mode") in MODES else IN_PERSON
    if item is None:
        return await Item.create(code=data["code"], mode=mode, using_db=conn, **fields), "created"
    outcome = "kept_ops_mode" if item.mode_set_by_ops else "updated"
    if not item.mode_set_by_ops:
        fields["mode"] = mode
    item.update_from_dict(fields)
    await item.save(using_db=conn)
    return item, outcome
