"""The ops console as a test drives it: one browser context and what went wrong in it, and
signing in through the API for the steps a test does not do on the page."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import ConsoleMessage, Dialog, Locator, Page, expect

WAIT_MS = 10_000


class Console:
    """One browser context on the console, with what went wrong in it."""

    def __init__(self, page: Page, url: str, shots: Path) -> None:
        self.page, self.url, self.shots = page, url, shots
        self.dialogs: list[str] = []
        self.page_errors: list[str] = []
        self.csp_violations: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("console", self._console)
        page.set_default_timeout(WAIT_MS)

    def _dialog(self, dialog: Dialog) -> None:
        # alert(), confirm() and the like: the page never opens one, injected markup would.
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def shot(self, name: str, full_page: bool = True) -> None:
        self.page.screenshot(path=self.shots / f"{name}.png", full_page=full_page)

    def sign_in(self, name: str) -> None:
        self.page.goto(self.url + "/ops/")
        self.page.get_by_role("button", name=f"以 {name} 登录").click()

    def tab(self, name: str) -> None:
        self.page.locator("#tabs").get_by_role("button", name=name).click()

    def item_card(self, code: str) -> Locator:
        return self.page.locator(f'#items-list article[data-code="{code}"]')

    def search(self, text: str) -> None:
        self.page.fill("#items-q", text)
        self.page.get_by_role("button", name="查询").first.click()

    def kpi_ratio(self, key: str) -> tuple[int, int]:
        ratio = self.page.locator(f'#kpis-list article[data-key="{key}"] .ratio')
        expect(ratio).to_have_text(re.compile(r"\d+ / \d+"))
        numerator, denominator = ratio.inner_text().split("/")
        return int(numerator), int(denominator)

    def open_switch(self, code: str, mode_label: str, reason: str) -> None:
        self.item_card(code).get_by_role("button", name="切换办理方式").click()
        self.page.select_option("#switch-mode", label=mode_label)
        self.page.fill("#switch-reason", reason)


def tokens(backend: str, gateway: str, person) -> dict:
    identity = httpx.post(
        gateway + "/idp/token",
        json={"id_number": person[0], "name": person[1], "assurance": "face"},
    )
    assert identity.status_code == 200, identity.text
    login = httpx.post(
        backend + "/api/v1/auth/login", json={"identity_token": identity.json()["identity_token"]}
    )
    assert login.status_code == 200, login.text
    return login.json()


def api_login(backend: str, gateway: str, person) -> dict:
    return {"authorization": f"Bearer {tokens(backend, gateway, person)['access_token']}"}
