"""A fake of `ApplicationRecords`: applications, keys and nonces in dicts, each write made
without an await between its steps (what one transaction or statement makes of the real
ones), its filings' outbox rows in a `FakeOutboxRecords` and audit lines in a `FakeAudit`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.applications.records.port import (
    NONCE_LENGTH,
    CallbackTaken,
    KeyRecord,
    NewApplication,
    filing_line,
    queued_view,
)
from services.applications.rules import COMPLETED, QUEUED, SUBMITTED, ApplicationView, moves_forward
from tests.fakes.common import FakeAudit
from tests.fakes.services import FakeOutboxRecords


class FakeApplicationRecords:
    def __init__(
        self, outbox: FakeOutboxRecords | None = None, audit: FakeAudit | None = None
    ) -> None:
        self.outbox = outbox if outbox is not None else FakeOutboxRecords()
        self.outbox.applications = self
        self.audit = audit if audit is not None else FakeAudit()
        self.applications: dict[str, ApplicationView] = {}
        self.keys: dict[tuple[str, str], KeyRecord] = {}
        self.nonces: dict[str, datetime] = {}
        self.calls: list[tuple] = []

    async def key(self, user_id: str, key: str) -> KeyRecord | None:
        self.calls.append(("key", user_id, key))
        return self.keys.get((user_id, key))

    async def key_once_written(self, user_id: str, key: str) -> KeyRecord | None:
        # Nothing here is ever half written.
        self.calls.append(("key_once_written", user_id, key))
        return self.keys.get((user_id, key))

    async def file_new(
        self, new: NewApplication, key: str, fingerprint: str
    ) -> ApplicationView | None:
        self.calls.append(("file_new", new.user_id, key))
        if (new.user_id, key) in self.keys:
            return None
        view = queued_view(new)
        self.keys[(new.user_id, key)] = KeyRecord(fingerprint, new.id)
        self.applications[new.id] = view
        self.outbox.add(view)
        self.audit.keep(filing_line(new))
        return view

    async def get(self, application_id: str) -> ApplicationView | None:
        self.calls.append(("get", application_id))
        return self.applications.get(application_id)

    async def page_of(
        self, user_id: str, before: tuple[datetime, str] | None, limit: int
    ) -> list[ApplicationView]:
        self.calls.append(("page_of", user_id))
        mine = sorted(
            (a for a in self.applications.values() if a.user_id == user_id),
            key=lambda a: (a.created_at, a.id),
            reverse=True,
        )
        if before is not None:
            mine = [a for a in mine if (a.created_at, a.id) < before]
        return mine[:limit]

    async def first_nonce_use(self, nonce: str, at: datetime) -> bool:
        self.calls.append(("first_nonce_use", nonce))
        if not 0 < len(nonce) <= NONCE_LENGTH or nonce in self.nonces:
            return False
        self.nonces[nonce] = at
        return True

    async def take_callback(
        self,
        nonce: str,
        at: datetime,
        application_id: str,
        status: str,
        result_certificate_id: str | None = None,
    ) -> CallbackTaken:
        self.calls.append(("take_callback", nonce, application_id, status))
        if not 0 < len(nonce) <= NONCE_LENGTH or nonce in self.nonces:
            return "replayed"
        self.nonces[nonce] = at
        current = self.applications.get(application_id)
        if current is None:
            return "unknown"
        if not moves_forward(current.status, status):
            return "kept"
        self.applications[application_id] = replace(
            current,
            status=status,
            history=(*current.history, (status, at)),
            result_certificate_id=result_certificate_id or current.result_certificate_id,
        )
        return "moved"

    async def completed_count(self) -> int:
        return sum(a.status == COMPLETED for a in self.applications.values())

    async def forget_nonces(self, before: datetime) -> None:
        self.nonces = {n: at for n, at in self.nonces.items() if at >= before}

    def submitted(self, application_id: str, gateway_id: str, at: datetime) -> None:
        """What a delivery's mark does to its application (FakeOutboxRecords calls it)."""
        current = self.applications[application_id]
        moved = current.status == QUEUED
        self.applications[application_id] = replace(
            current,
            gateway_application_id=gateway_id,
            status=SUBMITTED if moved else current.status,
            history=(*current.history, (SUBMITTED, at)) if moved else current.history,
        )
