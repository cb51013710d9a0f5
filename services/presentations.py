"""亮证: a QR-sized token that shows one certificate, or chosen parts of it, to a verifier.

The token is a compact ES256 JWT signed with our token key (kid published at
/.well-known/jwks.json), so a verifier can check it offline too. It carries the
certificate id, type, status, issuer, the holder's masked name and only the fields the
citizen chose. We keep a record of each token so that an online check can also say
"revoked since".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt

from core.audit import AuditWriter
from core.clock import Clock, utc, wall
from core.errors import Conflict, HolderNotFound, InvalidRequest
from services.certificates import (
    PURPOSE_PRESENT,
    PURPOSE_VERIFY,
    Certificates,
    CertificateView,
)
from services.holders import Holder, Holders
from services.times import rfc3339
from store.models import Presentation

TYP = "presentation"
MAX_TOKEN_BYTES = 1024
MIN_TTL, MAX_TTL = 60, 600


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


@dataclass(frozen=True)
class Issued:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class PresentationRecord:
    jti: str
    user_id: str
    certificate_id: str
    expires_at: datetime


class PresentationRecords(Protocol):
    async def add(self, record: PresentationRecord) -> None: ...

    async def get(self, jti: str) -> PresentationRecord | None: ...


class TortoisePresentationRecords:
    async def add(self, record: PresentationRecord) -> None:
        await Presentation.create(
            jti=record.jti,
            user_id=record.user_id,
            certificate_id=record.certificate_id,
            expires_at=record.expires_at,
        )

    async def get(self, jti: str) -> PresentationRecord | None:
        row = await Presentation.get_or_none(jti=jti)
        if row is None:
            return None
        return PresentationRecord(row.jti, row.user_id, row.certificate_id, row.expires_at)


class Presentations:
    def __init__(
        self,
        certificates: Certificates,
        holders: Holders,
        records: PresentationRecords,
        audit: AuditWriter,
        *,
        private_key: Any,
        public_key: Any,
        kid: str,
        clock: Clock = wall,
    ) -> None:
        self.certificates = certificates
        # For re-checking the certificate with the library when a verifier asks.
        self.holders = holders
        self.records = records
        self.audit = audit
        self._private = private_key
        self._public = public_key
        self.kid = kid
        self._clock = clock

    async def present(
        self,
        holder: Holder,
        certificate_id: str,
        fields: list[str] | None,
        ttl_seconds: int,
        request_id: str,
    ) -> Issued:
        if not MIN_TTL <= ttl_seconds <= MAX_TTL:
            raise InvalidRequest(
                "ttl_seconds 须在 60 到 600 之间",
                fields=[{"field": "ttl_seconds", "problem": "must be 60..600"}],
            )
        now = utc(self._clock)
        expires_at = now + timedelta(seconds=ttl_seconds)
        jti = uuid.uuid4().hex
        signed: list[str] = []

        def sign_if_presentable(cert: CertificateView) -> None:
            # Inside the audited read, so a refusal is recorded as refused, not as shown.
            if not cert.usable:
                raise Conflict(
                    "只能出示有效的证照 Only a valid certificate can be presented",
                    certificate_status=cert.status,
                )
            chosen = _chosen_fields(cert, fields or [])
            signed.append(self._sign(cert, chosen, jti, now, expires_at))

        cert = await self.certificates.read(
            holder,
            certificate_id,
            request_id,
            purpose=PURPOSE_PRESENT,
            action="certificate.present",
            check=sign_if_presentable,
        )
        token = signed[0]
        await self.records.add(PresentationRecord(jti, holder.user_id, cert.id, expires_at))
        return Issued(token, expires_at.replace(microsecond=0))

    def _sign(
        self,
        cert: CertificateView,
        chosen: list[str],
        jti: str,
        issued_at: datetime,
        expires_at: datetime,
    ) -> str:
        claims = {
            "typ": TYP,
            "jti": jti,
            "iat": int(issued_at.timestamp()),
            "exp": int(expires_at.timestamp()),
            "cid": cert.id,
            "ct": cert.type,
            "cn": cert.name,
            "st": cert.status,
            "iss": cert.issuer,
            "hn": mask_name(cert.holder_name),
            "f": {k: cert.fields[k] for k in chosen},
        }
        token = jwt.encode(
            claims,
            self._private,
            algorithm="ES256",
            headers={"kid": self.kid, "typ": "lingpao-presentation"},
        )
        if len(token.encode()) > MAX_TOKEN_BYTES:
            raise InvalidRequest(
                "所选字段过多，二维码放不下 Too many fields for a QR code",
                fields=[{"field": "fields", "problem": "token over 1 KB"}],
            )
        return token

    async def verify(self, token: str, verifier: str, request_id: str) -> dict:
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=["ES256"],
                options={"require": ["exp", "iat", "jti", "cid", "typ"]},
            )
        except jwt.ExpiredSignatureError:
            return {"valid": False, "reason": "expired"}
        except jwt.PyJWTError:
            return {"valid": False, "reason": "tampered"}
        if claims.get("typ") != TYP:
            return {"valid": False, "reason": "tampered"}
        record = await self.records.get(str(claims["jti"]))
        if record is None or record.certificate_id != claims["cid"]:
            return {"valid": False, "reason": "unknown_presentation"}
        try:
            holder = await self.holders.of_user(record.user_id)
        except HolderNotFound:
            return {"valid": False, "reason": "unknown_presentation"}
        current = await self.certificates.one(holder, record.certificate_id, PURPOSE_VERIFY)
        await self.audit(
            actor=verifier,
            action="certificate.verify",
            target=f"certificate:{record.certificate_id}",
            purpose=PURPOSE_VERIFY,
            subject_user_id=record.user_id,
            request_id=request_id,
            outcome="ok" if current.usable else "invalid",
        )
        if not current.usable:
            return {"valid": False, "reason": f"certificate_{current.status}"}
        return {
            "valid": True,
            "certificate": {
                "id": claims["cid"],
                "type": claims.get("ct"),
                "name": claims.get("cn"),
                "status": current.status,
                "issuer": claims.get("iss"),
                "holder_name": claims.get("hn"),
                "fields": claims.get("f", {}),
                "expires_at": rfc3339(datetime.fromtimestamp(claims["exp"], UTC)),
            },
        }


def _chosen_fields(cert: CertificateView, fields: list[str]) -> list[str]:
    """The fields to disclose, each once, in the order asked; unknown ones are refused."""
    chosen = list(dict.fromkeys(fields))
    unknown = [f for f in chosen if f not in cert.fields]
    if unknown:
        # Named back, but briefly: the names are the client's text, of any size.
        raise InvalidRequest(
            "证照没有这些字段 Unknown fields",
            fields=[{"field": "fields", "problem": f"unknown: {f[:32]}"} for f in unknown[:5]],
        )
    return chosen
