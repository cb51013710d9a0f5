"""The catalog of service items: sync from the gateway, read models, rules for modes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from core.errors import InvalidRequest, ItemNotFound, ModeBlocked, VersionMismatch
from services import audit
from services.gateway import GatewayClient
from services.models import MODES, CertificateType, Item, Material

log = logging.getLogger("lingpao.catalog")

IN_PERSON, ONE_TRIP, ZERO_TRIP = MODES


@dataclass(frozen=True)
class MaterialView:
    code: str
    name: str
    source: str
    certificate_type: str | None

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "source": self.source,
                "certificate_type": self.certificate_type}


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
        return {"code": self.code, "name": self.name, "department": self.department,
                "category": self.category, "mode": self.mode, "handheld": self.handheld,
                "livelihood": self.livelihood}

    def detail(self) -> dict:
        return {
            **self.summary(),
            "secret": self.secret,
            "online": self.online,
            "materials": [m.as_dict() for m in self.materials],
            "version": self.version,
            "guide": {"address": self.guide_address, "hours": self.guide_hours,
                      "bring": [m.code for m in self.materials]},
        }


def zero_trip_blockers(item: ItemView) -> list[dict]:
    """What keeps an item from zero-trip handling: paper originals, or no online intake."""
    blockers = [{"kind": "material", "code": m.code, "name": m.name, "reason": "paper_original"}
                for m in item.materials if m.source == "paper"]
    if not item.online:
        blockers.append({"kind": "intake", "code": None, "name": "网上受理",
                         "reason": "gateway_cannot_take_online"})
    return blockers


def check_mode(item: ItemView, mode: str) -> None:
    if mode not in MODES:
        raise InvalidRequest(f"mode 必须是 {', '.join(MODES)} 之一", fields=[
            {"field": "mode", "problem": "unknown mode"}])
    if mode == ZERO_TRIP:
        blockers = zero_trip_blockers(item)
        if blockers:
            raise ModeBlocked(blockers=blockers)
    if mode == ONE_TRIP and not item.online:
        raise ModeBlocked(blockers=[b for b in zero_trip_blockers(item) if b["kind"] == "intake"])


def _view(item: Item, materials: list[Material]) -> ItemView:
    return ItemView(
        code=item.code, name=item.name, department=item.department, category=item.category,
        mode=item.mode, handheld=item.handheld, livelihood=item.livelihood, secret=item.secret,
        online=item.online, version=item.version,
        materials=tuple(MaterialView(m.code, m.name, m.source, m.certificate_type)
                        for m in sorted(materials, key=lambda m: m.position)),
        guide_address=item.guide_address, guide_hours=item.guide_hours,
        mode_changed_by=item.mode_changed_by, mode_changed_at=item.mode_changed_at,
        mode_reason=item.mode_reason,
    )


async def all_items() -> list[ItemView]:
    """Every item with its materials, in code order: two queries, whatever the size."""
    items = await Item.all().order_by("code")
    by_item: dict[str, list[Material]] = {}
    for material in await Material.all():
        by_item.setdefault(material.item_id, []).append(material)  # type: ignore[attr-defined]
    return [_view(i, by_item.get(i.code, [])) for i in items]


async def get_item(code: str) -> ItemView:
    item = await Item.get_or_none(code=code)
    if item is None:
        raise ItemNotFound()
    return _view(item, await Material.filter(item_id=code))


async def is_empty() -> bool:
    return not await Item.exists()


async def issued_certificate_types() -> set[str]:
    return set(await CertificateType.all().values_list("code", flat=True))


async def sync(gateway: GatewayClient) -> dict[str, int]:
    """Upserts the gateway's catalog. A mode that ops set is never overwritten."""
    remote = await gateway.catalog_items()
    types = await gateway.certificate_types()
    now = datetime.now(UTC)
    counts = {"created": 0, "updated": 0, "kept_ops_mode": 0}
    async with in_transaction() as conn:
        known_types = set(await CertificateType.all().using_db(conn).values_list("code", flat=True))
        await CertificateType.bulk_create(
            [CertificateType(code=str(t["code"]), name=str(t.get("name", "")),
                             issuer_name=str(t.get("issuer_name", "")))
             for t in types if str(t["code"]) not in known_types], using_db=conn)
        existing = {i.code: i for i in await Item.all().using_db(conn)}
        materials = []
        for data in remote:
            item, outcome = await _upsert(data, existing.get(data["code"]), now, conn)
            counts[outcome] += 1
            materials += [
                Material(item_id=item.code, code=m["code"], name=m["name"], source=m["source"],
                         certificate_type=m.get("certificate_type"), position=position)
                for position, m in enumerate(data.get("materials") or [])]
        await Material.filter(item_id__in=[d["code"] for d in remote]).using_db(conn).delete()
        await Material.bulk_create(materials, using_db=conn)
    return counts


async def _upsert(data: dict, item: Item | None, now: datetime, conn) -> tuple[Item, str]:
    guide = data.get("guide") or {}
    fields = {
        "name": data["name"], "category": data["category"], "department": data["department"],
        "livelihood": bool(data.get("livelihood")), "secret": bool(data.get("secret")),
        "handheld": bool(data.get("handheld")), "online": bool(data.get("online")),
        "guide_address": str(guide.get("address", "")), "guide_hours": str(guide.get("hours", "")),
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


async def switch_mode(code: str, mode: str, reason: str, expected_version: int, *,
                      actor: str, actor_user_id: str | None, request_id: str) -> ItemView:
    """The rule check, the row update and its audit entry, committed together."""
    reason = reason.strip()
    if not reason:
        raise InvalidRequest("须说明切换原因 A reason is required",
                             fields=[{"field": "reason", "problem": "required"}])
    item = await get_item(code)
    check_mode(item, mode)
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        # The version in the WHERE clause is the lock: of two writers with the same
        # version, exactly one updates a row.
        changed = await Item.filter(code=code, version=expected_version).using_db(conn).update(
            mode=mode, version=expected_version + 1, mode_set_by_ops=True,
            mode_changed_by=actor, mode_changed_at=now, mode_reason=reason[:500])
        if not changed:
            raise VersionMismatch(current_version=item.version)
        await audit.record(actor=actor, action="item.mode_switch", target=f"item:{code}",
                           before={"mode": item.mode, "version": item.version},
                           after={"mode": mode, "version": expected_version + 1},
                           reason=reason, actor_user_id=actor_user_id, request_id=request_id,
                           connection=conn)
    return await get_item(code)
