"""Electronic certificates (电子证照): fetched from the library, signatures checked, status
computed, identifiers checked (GB/T 36904), every access written to the ledger.

No certificate data is cached, in Redis or elsewhere: it is personal data that would sit in
clear outside the database's encrypted fields, and the library is the source of truth for
revocations, which must show at once. Each read is one gateway call, bounded by the
client's timeouts and breaker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from core.audit import AuditWriter
from core.clock import Clock, utc, wall
from core.errors import CertificateNotFound, GatewayBadAnswer, LingpaoError
from core.ids import is_certificate_id
from services.gateway import Gateway
from services.holders import Holder
from services.issuers import IssuerSeals

PURPOSE_VIEW = "本人查看电子证照"
PURPOSE_ONE_ID = "一证通办资格核验"
PURPOSE_PRESENT = "亮证"
PURPOSE_VERIFY = "亮证核验"


@dataclass(frozen=True)
class CertificateView:
    id: str
    type: str
    name: str
    issuer: str
    issuer_code: str
    holder_name: str
    issued_on: date | None
    valid_until: date | None
    status: str
    status_reason: str
    signature_valid: bool
    fields: dict

    @property
    def usable(self) -> bool:
        return self.status == "valid"

    def summary(self) -> dict:
        return {
            "id": self.id,
            "type": self.type,
            "name": self.name,
            "issuer": self.issuer,
            "issued_at": _rfc3339(self.issued_on),
            "expires_at": _rfc3339(self.valid_until),
            "status": self.status,
        }

    def detail(self) -> dict:
        return {
            **self.summary(),
            "fields": self.fields,
            "signature_valid": self.signature_valid,
            "status_reason": self.status_reason or None,
            "issuer_code": self.issuer_code,
        }


def _rfc3339(day: date | None) -> str | None:
    return None if day is None else f"{day.isoformat()}T00:00:00Z"


def _date(value: object) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise GatewayBadAnswer() from exc


def status_of(document: dict, signature_valid: bool, today: date) -> tuple[str, str]:
    """valid | expired | revoked, from the library's word, the dates and the signature.

    A certificate whose signature fails, or whose GB/T 36904 identifier does not verify, is
    never valid; it is shown as revoked (the contract has no other word for "do not rely on
    this") with the reason beside it.
    """
    if not signature_valid:
        return "revoked", "signature_invalid"
    if not is_certificate_id(document.get("id")):
        return "revoked", "identifier_invalid"
    library = document.get("status")
    if library == "revoked":
        return "revoked", "revoked_by_issuer"
    valid_from, valid_until = _date(document.get("valid_from")), _date(document.get("valid_until"))
    if library == "expired" or (valid_until is not None and valid_until < today):
        return "expired", "past_validity"
    if valid_from is not None and valid_from > today:
        return "expired", "not_yet_valid"
    if library != "valid":
        return "revoked", "unknown_library_status"
    return "valid", ""


class Certificates:
    def __init__(
        self, gateway: Gateway, seals: IssuerSeals, audit: AuditWriter, clock: Clock = wall
    ) -> None:
        self.gateway = gateway
        self.seals = seals
        self.audit = audit
        self._clock = clock

    async def _view(self, document: dict, today: date) -> CertificateView:
        if not isinstance(document.get("id"), str) or not isinstance(document.get("fields"), dict):
            raise GatewayBadAnswer()
        signature_valid = await self.seals.verify(document)
        status, reason = status_of(document, signature_valid, today)
        return CertificateView(
            id=document["id"],
            type=str(document.get("type_code", "")),
            name=str(document.get("type_name", "")),
            issuer=str(document.get("issuer_name", "")),
            issuer_code=str(document.get("issuer_code", "")),
            holder_name=str(document.get("holder_name", "")),
            issued_on=_date(document.get("issued_on")),
            valid_until=_date(document.get("valid_until")),
            status=status,
            status_reason=reason,
            signature_valid=signature_valid,
            fields=document["fields"],
        )

    async def held_by(self, holder: Holder, purpose: str) -> list[CertificateView]:
        documents = await self.gateway.list_certificates(holder.id_number, purpose)
        today = utc(self._clock).date()
        return [
            await self._view(d, today)
            for d in documents
            if d.get("holder_id_number") == holder.id_number
        ]

    async def one(self, holder: Holder, certificate_id: str, purpose: str) -> CertificateView:
        document = None
        # Not a GB/T 36904 identifier (its check character fails): the library cannot hold
        # it, so it is not asked.
        if is_certificate_id(certificate_id):
            document = await self.gateway.get_certificate(certificate_id, holder.id_number, purpose)
        # The library matched the holder; we check again rather than trust a field we sent.
        if document is None or document.get("holder_id_number") != holder.id_number:
            raise CertificateNotFound()
        return await self._view(document, utc(self._clock).date())

    async def list_for(
        self, holder: Holder, request_id: str, purpose: str = PURPOSE_VIEW
    ) -> list[CertificateView]:
        found = await self.held_by(holder, purpose)
        await self.audit(
            actor=holder.id_number_masked,
            action="certificate.list",
            target="certificates",
            purpose=purpose,
            actor_user_id=holder.user_id,
            subject_user_id=holder.user_id,
            request_id=request_id,
            after={"count": len(found)},
        )
        return found

    async def read(
        self,
        holder: Holder,
        certificate_id: str,
        request_id: str,
        purpose: str = PURPOSE_VIEW,
        action: str = "certificate.read",
        check: Callable[[CertificateView], None] | None = None,
    ) -> CertificateView:
        """One certificate of the holder, audited; `check` may refuse what was asked of it,
        and the refusal is audited as such, never as done."""
        try:
            found = await self.one(holder, certificate_id, purpose)
        except CertificateNotFound:
            # Someone else's id or a guess: the same 404, but ops can see the attempt.
            await self.audit(
                actor=holder.id_number_masked,
                action=action,
                target=f"certificate:{certificate_id[:100]}",
                outcome="denied",
                reason="not_the_holders",
                purpose=purpose,
                actor_user_id=holder.user_id,
                request_id=request_id,
            )
            raise
        outcome, reason, refusal = "ok", "", None
        if check is not None:
            try:
                check(found)
            except LingpaoError as exc:
                outcome, reason, refusal = "refused", exc.code, exc
        await self.audit(
            actor=holder.id_number_masked,
            action=action,
            target=f"certificate:{found.id}",
            outcome=outcome,
            reason=reason,
            purpose=purpose,
            actor_user_id=holder.user_id,
            subject_user_id=holder.user_id,
            request_id=request_id,
        )
        if refusal is not None:
            raise refusal
        return found
