"""Fakes of the domain's ports: the provincial gateway, item and presentation records, and
the user directory as the domain sees it."""

from __future__ import annotations

import asyncio
import base64
import copy
from dataclasses import replace
from datetime import datetime
from typing import Any

import gmssl_pyx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from stdnum.iso7064 import mod_37_36

from core.audit import AuditWriter
from services.applications.rules import ApplicationView
from services.catalog import ItemView, ModeChange
from services.issuers import canonical
from services.outbox import Delivery
from services.presentations import PresentationRecord


def certificate_id(
    serial: int, type_code: str = "111", issuer_code: str = "11330400002570581X"
) -> str:
    """A GB/T 36904 identifier with its check character, as the library issues them."""
    body = f"1.2.156.3005.2.{type_code}.{issuer_code}.{serial:07d}.001"
    return f"{body}.{mod_37_36.calc_check_digit(body.replace('.', ''))}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeIssuer:
    """An issuing department that seals certificate documents with Ed25519."""

    def __init__(self, code: str = "11330400002570581X", name: str = "嘉兴市公安局") -> None:
        self.code, self.name = code, name
        self._key = Ed25519PrivateKey.generate()

    def published(self) -> dict:
        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {
            "code": self.code,
            "name": self.name,
            "jwk": {"kty": "OKP", "crv": "Ed25519", "kid": self.code, "x": _b64url(raw)},
        }

    def seal(self, document: dict) -> dict:
        sealed = {**document, "issuer_code": self.code, "issuer_name": self.name}
        signature = self._key.sign(canonical(sealed))
        return {
            **sealed,
            "signature": {"alg": "EdDSA", "kid": self.code, "value": _b64url(signature)},
        }


class FakeSm2Issuer(FakeIssuer):
    """An issuing department that seals with SM2 over SM3 (GM/T 0003, default signer ID)."""

    def __init__(self, code: str = "113304000025703867", name: str = "嘉兴市民政局") -> None:
        self.code, self.name = code, name
        self._public, self._private = gmssl_pyx.sm2_key_generate()

    def published(self) -> dict:
        x, y = self._public[:32], self._public[32:]
        return {
            "code": self.code,
            "name": self.name,
            "jwk": {
                "kty": "EC",
                "crv": "SM2",
                "alg": "sm2sign-with-sm3",
                "kid": self.code,
                "x": _b64url(x),
                "y": _b64url(y),
            },
        }

    def seal(self, document: dict) -> dict:
        sealed = {**document, "issuer_code": self.code, "issuer_name": self.name}
        signature = gmssl_pyx.sm2_sign(self._private, self._public, canonical(sealed))
        return {
            **sealed,
            "signature": {"alg": "sm2sign-with-sm3", "kid": self.code, "value": _b64url(signature)},
        }


class FakeGateway:
    """The provincial gateway in memory. Every call is recorded in `calls`; `failure`, when
    set, is raised by every call instead of answering (as the real client raises ours)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.failure: Exception | None = None
        self.issuers: list[FakeIssuer] = [FakeIssuer()]
        self.certificates: list[dict] = []
        self.items: list[dict] = []
        self.types: list[dict] = []
        self.submitted: dict[str, dict] = {}

    def _call(self, *call: object) -> None:
        self.calls.append(call)
        if self.failure is not None:
            raise self.failure

    def calls_to(self, name: str) -> list[tuple]:
        return [c for c in self.calls if c[0] == name]

    def hold(self, holder_id_number: str, issuer: int = 0, **document: object) -> dict:
        """Issues a certificate to a holder, sealed by the first issuer unless told."""
        sealed = self.issuers[issuer].seal({"holder_id_number": holder_id_number, **document})
        self.certificates.append(sealed)
        return sealed

    async def ping(self) -> None:
        self._call("ping")

    async def idp_jwks(self) -> dict:
        self._call("idp_jwks")
        return {"keys": []}

    async def catalog_items(self) -> list[dict]:
        self._call("catalog_items")
        return copy.deepcopy(self.items)

    async def certificate_issuers(self) -> list[dict]:
        self._call("certificate_issuers")
        return [i.published() for i in self.issuers]

    async def certificate_types(self) -> list[dict]:
        self._call("certificate_types")
        return copy.deepcopy(self.types)

    async def list_certificates(self, holder_id_number: str, purpose: str) -> list[dict]:
        self._call("list_certificates", holder_id_number, purpose)
        return [
            copy.deepcopy(c) for c in self.certificates if c["holder_id_number"] == holder_id_number
        ]

    async def get_certificate(
        self, certificate_id: str, holder_id_number: str, purpose: str
    ) -> dict | None:
        self._call("get_certificate", certificate_id, holder_id_number, purpose)
        for c in self.certificates:
            if c["id"] == certificate_id and c["holder_id_number"] == holder_id_number:
                return copy.deepcopy(c)
        return None

    async def submit_application(self, idempotency_key: str, body: dict) -> dict:
        self._call("submit_application", idempotency_key, body)
        return self.submitted.setdefault(
            idempotency_key, {"id": f"gw-{len(self.submitted)}", "status": "submitted"}
        )

    async def get_application(self, application_id: str) -> dict | None:
        self._call("get_application", application_id)
        return next((a for a in self.submitted.values() if a["id"] == application_id), None)


class FakeItemRecords:
    """Items in memory, with the ORM version's compare-and-set and audit-in-the-same-step."""

    def __init__(self, audit: AuditWriter, items: list[ItemView] | None = None) -> None:
        self.audit = audit
        self.items = {i.code: i for i in items or []}
        self.types: set[str] = set()
        self.calls: list[tuple] = []

    async def all_items(self) -> list[ItemView]:
        self.calls.append(("all_items",))
        await asyncio.sleep(0)  # a round trip: other requests run meanwhile
        return [self.items[c] for c in sorted(self.items)]

    async def get(self, code: str) -> ItemView | None:
        self.calls.append(("get", code))
        return self.items.get(code)

    async def is_empty(self) -> bool:
        self.calls.append(("is_empty",))
        return not self.items

    async def issued_certificate_types(self) -> set[str]:
        return set(self.types)

    async def switch_mode(self, change: ModeChange, before: ItemView) -> bool:
        self.calls.append(("switch_mode", change.code, change.mode, change.expected_version))
        current = self.items.get(change.code)
        if current is None or current.version != change.expected_version:
            return False
        self.items[change.code] = replace(
            current,
            mode=change.mode,
            version=current.version + 1,
            mode_changed_by=change.actor,
            mode_changed_at=change.at,
            mode_reason=change.reason,
        )
        await self.audit(
            actor=change.actor,
            action="item.mode_switch",
            target=f"item:{change.code}",
            before={"mode": before.mode, "version": before.version},
            after={"mode": change.mode, "version": current.version + 1},
            reason=change.reason,
            actor_user_id=change.actor_user_id,
            request_id=change.request_id,
        )
        return True

    async def replace_from_gateway(
        self, items: list[dict], types: list[dict], at: datetime
    ) -> dict[str, int]:
        self.calls.append(("replace_from_gateway", len(items)))
        self.types |= {str(t["code"]) for t in types}
        counts = {"created": 0, "updated": 0, "kept_ops_mode": 0}
        for data in items:
            known = self.items.get(data["code"])
            # As the real sync: a mode that ops set (it has an author) is kept.
            kept = known is not None and bool(known.mode_changed_by)
            counts["kept_ops_mode" if kept else "updated" if known else "created"] += 1
            self.items[data["code"]] = ItemView(
                code=data["code"],
                name=data["name"],
                department=data["department"],
                category=data["category"],
                mode=known.mode if known is not None and kept else data["mode"],
                handheld=bool(data.get("handheld")),
                livelihood=bool(data.get("livelihood")),
                secret=bool(data.get("secret")),
                online=bool(data.get("online")),
                version=known.version if known else 1,
                materials=known.materials if known else (),
                guide_address="",
                guide_hours="",
                mode_changed_by=known.mode_changed_by if known else "",
            )
        return counts


class FakePresentationRecords:
    def __init__(self) -> None:
        self.records: dict[str, PresentationRecord] = {}
        self.calls: list[tuple] = []

    async def add(self, record: PresentationRecord) -> None:
        self.calls.append(("add", record.jti))
        self.records[record.jti] = record

    async def get(self, jti: str) -> PresentationRecord | None:
        self.calls.append(("get", jti))
        return self.records.get(jti)


class FakeIdentities:
    """The user directory as the domain sees it: user id -> (ID number, masked)."""

    def __init__(self) -> None:
        self.people: dict[str, tuple[str, str]] = {}
        self.calls: list[str] = []

    def add(self, user_id: str, id_number: str) -> None:
        self.people[user_id] = (id_number, f"{id_number[:4]}**********{id_number[-4:]}")

    async def identity_of(self, user_id: str) -> tuple[str, str] | None:
        self.calls.append(user_id)
        return self.people.get(user_id)


class FakeOutboxRecords:
    """Outbox rows in memory with the claim-checked transitions of the real ones; with the
    `applications` (a FakeApplicationRecords) that filed them, a claim reads each
    application as it is now and a delivery's mark moves it on, as the real ones do."""

    def __init__(self) -> None:
        self.rows: dict[int, dict] = {}
        self.attempts: list[tuple[int, str, str]] = []
        self.calls: list[tuple] = []
        self.applications: Any = None

    def add(self, application: ApplicationView) -> int:
        row_id = len(self.rows) + 1
        self.rows[row_id] = {
            "state": "pending",
            "attempts": 0,
            "due": None,
            "by": None,
            "until": None,
            "error": "",
            "gateway_id": None,
            "application": application,
        }
        return row_id

    async def claim(
        self, worker: str, now: datetime, until: datetime, limit: int
    ) -> list[Delivery]:
        self.calls.append(("claim", worker))
        taken: list[Delivery] = []
        for row_id, row in self.rows.items():
            due = row["state"] == "pending" and (row["due"] is None or row["due"] <= now)
            lapsed = row["state"] == "in_flight" and row["until"] < now
            if (due or lapsed) and len(taken) < limit:
                row.update(state="in_flight", by=worker, until=until)
                application = row["application"]
                if self.applications is not None:
                    application = self.applications.applications[application.id]
                taken.append(Delivery(row_id, row["attempts"], application))
        return taken

    def _mine(self, row_id: int, worker: str) -> dict | None:
        row = self.rows[row_id]
        return row if row["state"] == "in_flight" and row["by"] == worker else None

    async def delivered(
        self, row_id: int, worker: str, gateway_id: str, at: datetime, duration_ms: int
    ) -> bool:
        row = self._mine(row_id, worker)
        if row is not None:
            row.update(state="delivered", gateway_id=gateway_id, by=None, until=None)
            self.attempts.append((row_id, "delivered", ""))
            if self.applications is not None:
                self.applications.submitted(row["application"].id, gateway_id, at)
        return row is not None

    async def retry_later(
        self, row_id: int, worker: str, at: datetime, error: str, counted: bool
    ) -> bool:
        row = self._mine(row_id, worker)
        if row is not None:
            row.update(
                state="pending",
                due=at,
                by=None,
                error=error,
                attempts=row["attempts"] + (1 if counted else 0),
            )
        return row is not None

    async def dead(self, row_id: int, worker: str, error: str) -> bool:
        row = self._mine(row_id, worker)
        if row is not None:
            row.update(state="dead", by=None, error=error, attempts=row["attempts"] + 1)
        return row is not None

    async def release(self, row_id: int, worker: str) -> bool:
        row = self._mine(row_id, worker)
        if row is not None:
            row.update(state="pending", by=None)
        return row is not None

    async def record_attempt(self, row_id: int, outcome: str, error: str, duration_ms: int) -> None:
        self.attempts.append((row_id, outcome, error))
