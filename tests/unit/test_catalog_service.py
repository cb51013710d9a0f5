"""The catalog service on fakes: a switch is checked, applied once, audited and broadcast."""

from __future__ import annotations

import asyncio

import fakeredis
import pytest

from core.errors import GatewayUnavailable, InvalidRequest, ModeBlocked, VersionMismatch
from services.catalog import Catalog, CatalogVersion, ItemView, MaterialView
from tests.fakes import FakeAudit, FakeClock, FakeGateway, FakeItemRecords

ID_CARD = MaterialView("id_card", "居民身份证", "certificate", "111")
PAPER = MaterialView("original", "原件", "paper", None)


def item(
    code: str,
    *materials: MaterialView,
    mode: str = "one_trip",
    version: int = 1,
    online: bool = True,
) -> ItemView:
    return ItemView(
        code=code,
        name=code,
        department="民政局",
        category="婚姻",
        mode=mode,
        handheld=True,
        livelihood=True,
        secret=False,
        online=online,
        version=version,
        materials=materials,
        guide_address="",
        guide_hours="",
    )


class World:
    def __init__(self, *items: ItemView) -> None:
        self.server = fakeredis.FakeServer()
        self.audit, self.gateway = FakeAudit(), FakeGateway()
        self.records = FakeItemRecords(self.audit, list(items))
        self.version = CatalogVersion(self.redis())
        self.catalog = Catalog(self.records, self.gateway, self.version, clock=FakeClock(1e9))

    def redis(self) -> fakeredis.FakeAsyncRedis:
        return fakeredis.FakeAsyncRedis(server=self.server)

    async def switch(
        self, code: str, mode: str, version: int = 1, reason: str = "已电子化"
    ) -> ItemView:
        return await self.catalog.switch_mode(
            code,
            mode,
            reason,
            version,
            actor="3304****3454",
            actor_user_id="ops-1",
            request_id="req-1",
        )


async def test_a_switch_changes_the_mode_audits_it_and_moves_the_shared_version():
    world = World(item("HY001", ID_CARD))
    other_worker = CatalogVersion(world.redis())
    await other_worker.prime()
    switched = await world.switch("HY001", "zero_trip")
    assert (switched.mode, switched.version) == ("zero_trip", 2)
    [entry] = world.audit.calls
    assert entry["before"] == {"mode": "one_trip", "version": 1}
    assert entry["after"] == {"mode": "zero_trip", "version": 2}
    assert entry["reason"] == "已电子化"
    await other_worker._reread()
    assert other_worker.value == world.version.value > 0


async def test_a_stale_version_is_refused_and_nothing_changes_or_is_broadcast():
    world = World(item("HY001", ID_CARD, version=3))
    with pytest.raises(VersionMismatch) as refused:
        await world.switch("HY001", "zero_trip", version=2)
    assert refused.value.details == {"current_version": 3}
    assert world.audit.calls == []
    assert world.version.value == 0 and await world.redis().get("lp:catalog:version") is None


async def test_an_item_with_a_paper_original_cannot_go_zero_trip_and_is_not_touched():
    world = World(item("HJ004", ID_CARD, PAPER))
    with pytest.raises(ModeBlocked) as refused:
        await world.switch("HJ004", "zero_trip")
    blockers = refused.value.details["blockers"]
    assert isinstance(blockers, list) and [b["reason"] for b in blockers] == ["paper_original"]
    assert not any(c[0] == "switch_mode" for c in world.records.calls)


async def test_a_switch_without_a_reason_is_refused_before_anything_is_read():
    world = World(item("HY001", ID_CARD))
    with pytest.raises(InvalidRequest):
        await world.switch("HY001", "zero_trip", reason="   ")
    assert world.records.calls == []


async def test_of_two_switches_over_the_same_version_exactly_one_wins():
    world = World(item("HY001", ID_CARD))
    outcomes = await asyncio.gather(
        world.switch("HY001", "zero_trip"),
        world.switch("HY001", "in_person"),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["ItemView", "VersionMismatch"]
    assert len(world.audit.calls) == 1


async def test_a_sync_takes_the_gateways_items_and_moves_the_shared_version():
    world = World()
    world.gateway.items = [
        {
            "code": "SB001",
            "name": "社保卡申领",
            "department": "人社局",
            "category": "社保",
            "mode": "one_trip",
            "online": True,
        }
    ]
    counts = await world.catalog.sync()
    assert counts["created"] == 1
    assert [i.code for i in await world.catalog.snapshot()] == ["SB001"]
    assert world.version.value > 0


async def test_the_snapshot_is_read_once_per_catalog_version():
    world = World(item("HY001", ID_CARD))
    await world.catalog.snapshot()
    await world.catalog.snapshot()
    assert world.records.calls.count(("all_items",)) == 1
    await world.switch("HY001", "zero_trip")
    assert (await world.catalog.snapshot())[0].mode == "zero_trip"
    assert world.records.calls.count(("all_items",)) == 2


async def test_an_empty_catalog_is_filled_once_the_gateway_answers():
    world = World()
    world.gateway.failure = GatewayUnavailable()
    world.gateway.items = [
        {
            "code": "SB001",
            "name": "社保卡申领",
            "department": "人社局",
            "category": "社保",
            "mode": "one_trip",
        }
    ]
    stopping = asyncio.Event()
    filling = asyncio.create_task(world.catalog.fill_when_empty(stopping, pause=0.01))
    await asyncio.sleep(0.05)
    assert not filling.done() and world.records.items == {}
    world.gateway.failure = None
    await asyncio.wait_for(filling, 1)
    assert list(world.records.items) == ["SB001"]
    assert world.version.value > 0


async def test_filling_stops_between_attempts_when_the_server_stops():
    world = World()
    world.gateway.failure = GatewayUnavailable()
    stopping = asyncio.Event()
    filling = asyncio.create_task(world.catalog.fill_when_empty(stopping, pause=10))
    await asyncio.sleep(0.01)
    stopping.set()
    await asyncio.wait_for(filling, 1)
    assert world.records.items == {}


async def test_a_catalog_that_is_not_empty_is_left_alone():
    world = World(item("HY001", ID_CARD))
    await world.catalog.fill_when_empty(asyncio.Event())
    assert world.gateway.calls == []


async def test_a_sync_after_a_switch_keeps_the_mode_ops_chose():
    world = World(item("HY001", ID_CARD))
    await world.switch("HY001", "zero_trip")
    world.gateway.items = [
        {
            "code": "HY001",
            "name": "结婚登记",
            "department": "民政局",
            "category": "婚姻",
            "mode": "one_trip",
            "online": True,
        }
    ]
    counts = await world.catalog.sync()
    assert counts["kept_ops_mode"] == 1
    assert (await world.catalog.get_item("HY001")).mode == "zero_trip"


async def test_a_snapshot_read_while_a_switch_lands_is_not_kept_as_the_new_one():
    """A read that began before a switch committed must not be cached under the version the
    switch moved to: every read after the switch returned would serve the old mode."""
    world = World(item("HY001", ID_CARD))
    read_started, switch_done = asyncio.Event(), asyncio.Event()
    all_items = world.records.all_items

    async def slow_read() -> list[ItemView]:
        before = await all_items()  # the database's answer, before the switch commits
        read_started.set()
        await switch_done.wait()
        return before

    world.records.all_items = slow_read  # type: ignore[method-assign]
    reading = asyncio.create_task(world.catalog.snapshot())
    await read_started.wait()
    world.records.all_items = all_items  # type: ignore[method-assign]
    await world.switch("HY001", "zero_trip")
    switch_done.set()
    assert (await reading)[0].mode == "one_trip"  # it began before: that is fair
    assert (await world.catalog.snapshot())[0].mode == "zero_trip"


async def test_a_late_message_of_an_older_version_does_not_move_the_version_back():
    world = World(item("HY001", ID_CARD))
    newest = await world.version.bump()
    world.version._observe(newest - 1)
    assert world.version.value == newest


async def test_workers_starting_on_an_empty_catalog_fetch_it_from_the_gateway_once():
    world = World()
    world.gateway.items = [
        {
            "code": "SB001",
            "name": "社保卡申领",
            "department": "人社局",
            "category": "社保",
            "mode": "one_trip",
        }
    ]
    # Four workers over one shared Redis and one database, all starting at once.
    workers = [world.catalog] + [
        Catalog(world.records, world.gateway, CatalogVersion(world.redis()), clock=FakeClock(1e9))
        for _ in range(3)
    ]
    stopping = asyncio.Event()
    await asyncio.wait_for(
        asyncio.gather(*(w.fill_when_empty(stopping, pause=0.01) for w in workers)), 2
    )
    assert list(world.records.items) == ["SB001"]
    assert len(world.gateway.calls_to("catalog_items")) == 1


async def test_after_a_switch_the_requests_that_miss_together_read_the_catalog_once():
    world = World(item("HY001", ID_CARD), item("HY002", ID_CARD))
    await world.catalog.snapshot()
    await world.switch("HY001", "zero_trip")
    world.records.calls.clear()
    answers = await asyncio.gather(*(world.catalog.snapshot() for _ in range(20)))
    assert world.records.calls.count(("all_items",)) == 1
    assert all(a == answers[0] for a in answers)
    assert {i.code: i.mode for i in answers[0]}["HY001"] == "zero_trip"
