"""Application intake (办件受理): idempotent on the caller's key, status pushed by callback.

An item whose result is a certificate gets it issued on completion (see results.py); the
application and its completed callback then name it in ``result_certificate_id``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

log = logging.getLogger("mock_gateway.intake")

CALLBACK_BACKOFF_CAP_SECONDS = 30.0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class IntakeError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Intake:
    """Applications in memory; each moves submitted → accepted → completed | rejected."""

    def __init__(
        self,
        catalog: dict[str, dict],
        check_certificate: Callable[[str, str, str], bool],
        deliver: Callable[[str, dict], Awaitable[bool]],
        delay_seconds: float,
        issue_result: Callable[[str, dict, dict], str | None],
    ) -> None:
        self.catalog = catalog
        self.check_certificate = check_certificate
        self.issue_result = issue_result
        self.deliver = deliver
        self.delay_seconds = delay_seconds
        self.by_key: dict[tuple[str, str], dict] = {}
        self.by_id: dict[str, dict] = {}
        self.callbacks: list[dict] = []  # every delivery attempt, for tests and demos
        # How often each idempotency key was submitted: a sender that sends a row twice
        # shows here, though the key keeps the second copy from becoming an application.
        self.submissions: dict[str, int] = {}
        self._tasks: set[asyncio.Task] = set()

    def submit(self, app_key: str, key: str, body: dict) -> tuple[dict, bool]:
        """Returns (application, created)."""
        self.submissions[key] = self.submissions.get(key, 0) + 1
        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        existing = self.by_key.get((app_key, key))
        if existing is not None:
            if existing["_fingerprint"] != fingerprint:
                raise IntakeError(409, "idempotency_key_reused", "同一幂等键对应了不同的申请内容")
            return existing, False
        item = self.catalog.get(body.get("item_code", ""))
        if item is None:
            raise IntakeError(404, "item_not_found", "事项不存在")
        if not item["online"]:
            raise IntakeError(422, "item_not_online", "该事项暂不支持网上受理")
        applicant = body.get("applicant") or {}
        if not isinstance(applicant, dict) or not applicant.get("id_number"):
            raise IntakeError(400, "applicant_required", "缺少申请人信息")
        application_id = "GA" + hashlib.sha256(f"{app_key}:{key}".encode()).hexdigest()[:16].upper()
        application = {
            "application_id": application_id,
            "idempotency_key": key,
            "item_code": item["code"],
            "status": "submitted",
            "history": [{"status": "submitted", "at": _now()}],
            "_fingerprint": fingerprint,
            "_body": body,
        }
        self.by_key[(app_key, key)] = application
        self.by_id[application_id] = application
        self._spawn(self._progress(application))
        return application, True

    def public(self, application: dict) -> dict:
        return {k: v for k, v in application.items() if not k.startswith("_")}

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _progress(self, application: dict) -> None:
        body = application["_body"]
        await asyncio.sleep(self.delay_seconds)
        await self._move(application, "accepted")
        await asyncio.sleep(self.delay_seconds)
        ok = self._materials_check_out(body)
        if ok:
            # Before the callback: a backend told "completed" lists the certificate at once.
            self._issue_result(application)
        await self._move(application, "completed" if ok else "rejected")

    def _issue_result(self, application: dict) -> None:
        # No path completes an application twice today; should one appear, the citizen
        # must still not end up holding two certificates from one application.
        if "result_certificate_id" in application:
            return
        item = self.catalog[application["item_code"]]
        certificate_id = self.issue_result(
            application["application_id"], item, application["_body"]
        )
        if certificate_id is not None:
            application["result_certificate_id"] = certificate_id

    def _materials_check_out(self, body: dict) -> bool:
        holder = body["applicant"]["id_number"]
        item = self.catalog[body["item_code"]]
        given = body.get("materials") or {}
        for material in item["materials"]:
            if material["source"] != "certificate":
                continue
            chosen = given.get(material["code"]) or {}
            cert_id = chosen.get("certificate_id") if isinstance(chosen, dict) else None
            if not cert_id or not self.check_certificate(
                cert_id, holder, material["certificate_type"]
            ):
                return False
        return True

    async def _move(self, application: dict, status: str) -> None:
        application["status"] = status
        application["history"].append({"status": status, "at": _now()})
        callback_url = application["_body"].get("callback_url")
        if callback_url:
            payload = {
                "application_id": application["application_id"],
                "idempotency_key": application["idempotency_key"],
                "status": status,
                "at": application["history"][-1]["at"],
            }
            if status == "completed" and "result_certificate_id" in application:
                payload["result_certificate_id"] = application["result_certificate_id"]
            # Awaited, not spawned: the backend sees the changes in the order they happened.
            await self._push(callback_url, payload)

    async def _push(self, url: str, payload: dict) -> None:
        attempt = 0
        while True:
            attempt += 1
            started = time.time()
            try:
                acknowledged = await self.deliver(url, payload)
            except Exception as exc:  # noqa: BLE001 - any failure means "try again later"
                log.info("callback attempt %d failed: %s", attempt, type(exc).__name__)
                acknowledged = False
            self.callbacks.append(
                {
                    "payload": payload,
                    "attempt": attempt,
                    "acknowledged": acknowledged,
                    "at": started,
                }
            )
            if acknowledged:
                return
            await asyncio.sleep(min(CALLBACK_BACKOFF_CAP_SECONDS, 0.2 * 2 ** min(attempt, 10)))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
