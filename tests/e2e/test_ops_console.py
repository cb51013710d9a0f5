"""The ops console at /ops/ in headless Chromium (Debian's package, driven by Playwright),
against `python -m server serve` and `python -m mock_gateway` on spare ports.

One backend serves the whole module; each test opens a fresh browser context (its own
sessionStorage) and writes a screenshot of each screen under its tmp_path.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.auth_helpers import WANG, ZHANG
from tests.e2e.conftest import backend_running, mock_gateway_running

try:
    from playwright.sync_api import Browser, expect, sync_playwright

    from tests.e2e.console_page import WAIT_MS, Console, api_login, tokens
except ImportError:  # pragma: no cover - the dev extras bring it
    sync_playwright = None  # type: ignore[assignment]

CHROMIUM = shutil.which("chromium")
MISSING = (
    "chromium not installed: apt-get install chromium (Debian's package; never "
    "`playwright install`)"
    if CHROMIUM is None
    else "playwright not installed: pip install -e '.[dev]'"
    if sync_playwright is None
    else None
)
if MISSING and os.environ.get("LINGPAO_REQUIRE_BROWSER"):
    raise pytest.UsageError(f"{MISSING}, and LINGPAO_REQUIRE_BROWSER is set")
pytestmark = pytest.mark.skipif(
    MISSING is not None, reason=f"ops console browser tests skipped: {MISSING}"
)

APP_KEY, SECRET = "lingpao-console", "console-secret-0123456789"
# Short enough that one test can outlive an access token and see the page refresh it.
ACCESS_TTL = 10
MARKUP_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    # A gateway of its own: these tests break it on purpose.
    with mock_gateway_running(APP_KEY, SECRET, intake_delay=0) as url:
        yield url


def _add_item_named_like_markup(database: Path) -> None:
    """An item whose name is markup, as a hostile or careless catalog entry would be."""
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO item (code, name, category, department, livelihood, secret, handheld,"
            " online, guide_address, guide_hours, mode, version, mode_set_by_ops,"
            " mode_changed_by, mode_reason)"
            " VALUES ('XSS001', ?, '民政', '测试局', 0, 0, 1, 1, '', '', 'one_trip', 1, 0, '', '')",
            (MARKUP_NAME,),
        )


@pytest.fixture(scope="module")
def backend(tmp_path_factory, gateway) -> Iterator[str]:
    with backend_running(
        tmp_path_factory.mktemp("ops-console"),
        gateway,
        APP_KEY,
        SECRET,
        prepare=_add_item_named_like_markup,
        ACCESS_TOKEN_TTL_SECONDS=str(ACCESS_TTL),
        LOGIN_RATE_LIMIT="1000/minute",
        # One failed delivery parks the row as dead, for the outbox view to show.
        OUTBOX_MAX_ATTEMPTS="1",
    ) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def console(browser, backend, tmp_path) -> Iterator[Console]:
    context = browser.new_context(locale="zh-CN")
    opened = Console(context.new_page(), backend, tmp_path)
    try:
        yield opened
    finally:
        context.close()
    assert opened.page_errors == [], opened.page_errors
    assert opened.csp_violations == [], opened.csp_violations
    assert opened.dialogs == [], opened.dialogs


def test_an_ops_officer_searches_switches_an_item_to_zero_trip_and_sees_the_kpi_move(console):
    console.sign_in("王五")
    expect(console.page.locator("#who-name")).to_have_text("王五（运维人员）")
    console.tab("指标")
    before = console.kpi_ratio("zero_trip")
    console.tab("事项")
    console.search("户口迁移")
    card = console.item_card("HJ001")
    expect(card).to_contain_text("最多跑一次")
    expect(card).to_contain_text("无阻碍")
    expect(console.page.locator("#items-list article")).to_have_count(1)
    console.shot("items")
    console.open_switch("HJ001", "跑零次", "三项材料均可用电子证照核验")
    console.shot("switch-dialog")
    console.page.get_by_role("button", name="确认切换").click()
    notice = console.page.locator("#notice")
    expect(notice).to_contain_text("已将「户口迁移（市内）」从「最多跑一次」切换为「跑零次」")
    expect(notice).to_contain_text(f"跑零次 {before[0]}/{before[1]} → {before[0] + 1}/{before[1]}")
    expect(card).to_contain_text("三项材料均可用电子证照核验")
    expect(card.locator(".mode")).to_have_text("跑零次")
    console.tab("指标")
    assert console.kpi_ratio("zero_trip") == (before[0] + 1, before[1])
    zero_trip = console.page.locator('#kpis-list article[data-key="zero_trip"]')
    expect(zero_trip).to_contain_text("无阻碍、尚未跑零次的事项")
    expect(zero_trip.locator('li[data-code="HJ001"]')).to_have_count(0)
    console.shot("kpis")


def test_zero_trip_for_an_item_with_a_paper_original_is_refused_with_its_blockers(console):
    console.sign_in("王五")
    console.search("挂失补领")
    card = console.item_card("HJ004")
    expect(card).to_contain_text("需提交纸质原件：本人当面签署的声明书")
    console.open_switch("HJ004", "跑零次", "想试试能否跑零次")
    console.page.get_by_role("button", name="确认切换").click()
    problem = console.page.locator("#switch-problem")
    expect(problem).to_contain_text("不能切换为「跑零次」")
    expect(problem.locator("li")).to_have_text(["需提交纸质原件：本人当面签署的声明书"])
    console.shot("mode-blocked")
    console.page.get_by_role("button", name="取消").click()
    expect(card.locator(".mode")).to_have_text("到现场办理")


def test_a_switch_over_a_stale_version_offers_to_reload(console, backend, gateway):
    console.sign_in("王五")
    console.search("居民身份证换领")
    console.open_switch("HJ003", "到现场办理", "窗口设备检修")
    # Another officer switches it first.
    headers = {**api_login(backend, gateway, WANG), "if-match": '"1"'}
    first = httpx.put(
        backend + "/api/v1/ops/items/HJ003/mode",
        json={"mode": "zero_trip", "reason": "另一位同事先改了"},
        headers=headers,
    )
    assert first.status_code == 200, first.text
    console.page.get_by_role("button", name="确认切换").click()
    problem = console.page.locator("#switch-problem")
    expect(problem).to_contain_text("已被他人修改")
    problem.get_by_role("button", name="重新载入").click()
    expect(problem).to_contain_text("当前为「跑零次」，版本 v2")
    console.shot("version-mismatch")
    console.page.get_by_role("button", name="确认切换").click()
    expect(console.page.locator("#notice")).to_contain_text("从「跑零次」切换为「到现场办理」")


def test_the_audit_log_shows_each_switch_filtered_and_a_page_at_a_time(console, backend, gateway):
    # 22 switches of one item, there and back, so the log has more than one page of them.
    headers = api_login(backend, gateway, WANG)
    version = httpx.get(backend + "/api/v1/items/GJJ001").json()["version"]
    mode = httpx.get(backend + "/api/v1/items/GJJ001").json()["mode"]
    marker = f"第 {uuid.uuid4().hex[:6]} 次核对"
    for n in range(22):
        target = "in_person" if n % 2 == 0 else mode
        switched = httpx.put(
            backend + "/api/v1/ops/items/GJJ001/mode",
            json={"mode": target, "reason": f"{marker} {n}"},
            headers={**headers, "if-match": f'"{version}"'},
        )
        assert switched.status_code == 200, switched.text
        version = switched.json()["version"]
    console.sign_in("王五")
    console.tab("审计日志")
    console.page.select_option("#audit-action", "item.mode_switch")
    entries = console.page.locator("#audit-list article")
    expect(entries).to_have_count(20)
    expect(entries.first).to_contain_text(f"原因：{marker} 21")
    expect(entries.first).to_contain_text("对象 item:GJJ001")
    expect(entries.first).to_contain_text("办理方式 到现场办理 → 跑零次")
    console.shot("audit")
    console.page.get_by_role("button", name="加载更多").click()
    expect(entries.nth(20)).to_be_visible()
    assert entries.count() > 20
    console.page.fill("#audit-actor", "nobody-at-all")
    console.page.locator("#audit-form").get_by_role("button", name="查询").click()
    expect(console.page.locator("#audit-list")).to_contain_text("没有符合条件的记录")


def _dead_delivery(backend: str, gateway: str) -> int:
    """张三 files an application while the gateway answers garbage; its one delivery fails.

    Garbage rather than `down`: a gateway that answers, however badly, does not open the
    circuit breaker, which would postpone the delivery without counting an attempt."""
    citizen = api_login(backend, gateway, ZHANG)
    certificates = httpx.get(backend + "/api/v1/me/certificates", headers=citizen).json()
    id_card = next(c["id"] for c in certificates["items"] if c["type"] == "111")
    # The IdP is part of the gateway: 王五 signs in before it breaks, and his access
    # token (ACCESS_TTL) is refreshed with us, not the IdP, should the wait outlast it.
    ops = tokens(backend, gateway, WANG)
    httpx.put(gateway + "/_admin/faults", json={"garbage": True})
    try:
        filed = httpx.post(
            backend + "/api/v1/applications",
            json={"item_code": "JT002", "materials": {"id_card": {"certificate_id": id_card}}},
            headers={**citizen, "idempotency-key": str(uuid.uuid4())},
            timeout=20,
        )
        assert filed.status_code == 202, filed.text
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            rows = httpx.get(
                backend + "/api/v1/ops/outbox?state=dead",
                headers={"authorization": f"Bearer {ops['access_token']}"},
            )
            if rows.status_code == 401:
                ops = httpx.post(
                    backend + "/api/v1/auth/refresh", json={"refresh_token": ops["refresh_token"]}
                ).json()
                continue
            assert rows.status_code == 200, rows.text
            if rows.json()["items"]:
                return rows.json()["items"][0]["id"]
            time.sleep(0.2)
        raise AssertionError("the delivery did not fail within 20 s")
    finally:
        httpx.put(gateway + "/_admin/faults", json={"garbage": False})


def test_a_dead_delivery_is_requeued_from_the_outbox_view(console, backend, gateway):
    row_id = _dead_delivery(backend, gateway)
    console.sign_in("王五")
    console.tab("投递队列")
    dead = console.page.locator(f'#outbox-dead article[data-id="{row_id}"]')
    expect(dead).to_contain_text("已尝试 1 次")
    expect(dead).to_contain_text("省级平台暂不可用")
    console.shot("outbox-dead")
    dead.get_by_role("button", name="重新投递").click()
    expect(console.page.locator("#notice")).to_contain_text(f"已重新投递 #{row_id}")
    expect(dead).to_have_count(0)
    console.shot("outbox-requeued")
    # Back in the queue, it reaches the gateway, which answers properly again.
    ops = api_login(backend, gateway, WANG)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        delivered = httpx.get(backend + "/api/v1/ops/outbox?state=delivered", headers=ops)
        if row_id in [row["id"] for row in delivered.json()["items"]]:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the requeued delivery did not reach the gateway within 10 s")
    console.tab("审计日志")
    console.page.select_option("#audit-action", "outbox.requeue")
    expect(console.page.locator("#audit-list article").first).to_contain_text(
        f"对象 outbox:{row_id}"
    )


def test_a_citizen_signing_in_sees_the_ops_views_refused(console, backend):
    console.page.goto(backend + "/ops/")
    expect(console.page.locator("#demo-identities button")).to_have_count(3)
    console.shot("sign-in")
    console.sign_in("张三")
    refused = console.page.locator("#refused")
    expect(refused).to_contain_text("无权访问运维控制台")
    expect(refused).to_contain_text("没有运维权限")
    expect(console.page.locator("#tabs")).to_be_hidden()
    expect(console.page.locator("#view-items")).to_be_hidden()
    console.shot("refused")
    console.page.get_by_role("button", name="退出登录").click()
    expect(console.page.locator("#sign-in")).to_contain_text("您已退出登录")


def test_an_identity_token_handed_over_in_the_address_signs_in_and_leaves_it(console, gateway):
    # What the provincial sign-in does in production: back to /ops/#identity_token=….
    identity = httpx.post(
        gateway + "/idp/token",
        json={"id_number": WANG[0], "name": WANG[1], "assurance": "face"},
    ).json()["identity_token"]
    console.page.goto(f"{console.url}/ops/#identity_token={identity}")
    expect(console.page.locator("#who-name")).to_have_text("王五（运维人员）")
    expect(console.page.locator("#items-list article").first).to_be_visible()
    assert identity not in console.page.url


def test_signing_out_ends_the_session_on_the_server_too(console, backend):
    console.sign_in("王五")
    expect(console.page.locator("#items-list article").first).to_be_visible()
    token = console.page.evaluate(
        "JSON.parse(sessionStorage.getItem('lingpao.ops.session')).access_token"
    )
    console.page.get_by_role("button", name="退出登录").click()
    expect(console.page.locator("#sign-in")).to_be_visible()
    assert console.page.evaluate("sessionStorage.length") == 0
    me = httpx.get(backend + "/api/v1/me", headers={"authorization": f"Bearer {token}"})
    assert me.status_code == 401
    console.page.reload()
    expect(console.page.locator("#sign-in")).to_be_visible()
    console.shot("signed-out")


def test_the_session_is_refreshed_before_the_access_token_expires(console):
    with console.page.expect_response(
        lambda r: r.url.endswith("/api/v1/auth/login"), timeout=WAIT_MS
    ):
        console.sign_in("王五")
    signed_in = time.monotonic()
    with console.page.expect_response(
        lambda r: r.url.endswith("/api/v1/auth/refresh") and r.status == 200,
        timeout=ACCESS_TTL * 1000,
    ):
        pass
    # Past the first access token's life: the page still works without signing in again.
    time.sleep(max(0.0, ACCESS_TTL + 0.5 - (time.monotonic() - signed_in)))
    console.search("驾驶证")
    expect(console.item_card("JT002")).to_be_visible()
    expect(console.page.locator("#tabs")).to_be_visible()


def test_an_item_named_like_markup_and_a_reason_like_markup_show_as_text(console):
    reason = "<b>粗体</b><script>alert(2)</script>"
    console.sign_in("王五")
    console.search("<img")
    card = console.item_card("XSS001")
    expect(card.locator(".item-name")).to_have_text(MARKUP_NAME)
    console.open_switch("XSS001", "跑零次", reason)
    console.page.get_by_role("button", name="确认切换").click()
    expect(console.page.locator("#notice")).to_contain_text(f"已将「{MARKUP_NAME}」")
    expect(card.locator(".changed")).to_contain_text(f"原因：{reason}")
    console.shot("markup-as-text")
    console.tab("审计日志")
    expect(console.page.locator("#audit-list article").first).to_contain_text(f"原因：{reason}")
    console.shot("markup-in-audit")
    # Nothing of it became an element; the console fixture checks no dialog opened.
    assert console.page.locator("main img, main b, main script").count() == 0


def test_the_console_works_on_a_phone_sized_screen(browser, backend, tmp_path):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    try:
        console = Console(context.new_page(), backend, tmp_path)
        console.sign_in("王五")
        expect(console.page.locator("#items-list article").first).to_be_visible()
        console.shot("phone-items", full_page=False)
        overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        assert console.page.evaluate(overflow) <= 0
        console.search("出生登记")
        console.item_card("HJ002").get_by_role("button", name="切换办理方式").click()
        dialog = console.page.locator("#switch-dialog")
        expect(dialog).to_be_visible()
        box = dialog.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        console.shot("phone-switch")
        console.page.get_by_role("button", name="取消").click()
        console.tab("指标")
        expect(console.page.locator('#kpis-list article[data-key="zero_trip"]')).to_be_visible()
        assert console.page.evaluate(overflow) <= 0
        console.shot("phone-kpis")
        assert console.page_errors == [] and console.csp_violations == []
    finally:
        context.close()
