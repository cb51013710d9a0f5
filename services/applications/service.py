"""Filing applications once, reading them back, and moving them on as the gateway reports.

A filing is idempotent per user and Idempotency-Key. The item and the materials are checked
first; then the key, the application, its outbox row and its audit line are stored together
(`file_new`, one statement on PostgreSQL), or, if the key is known already, nothing is: the
application it made is answered again, or a key used with another body is refused. A
refusal stores nothing, and a retry of a filing that went through gets its application
back whatever the checks say now. A key claimed by a request still being handled (the
ORM's two steps, or an older instance during an upgrade) refuses the second with a 409
rather than file twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import orjson

from core.clock import Clock, utc, wall
from core.errors import (
    ApplicationNotFound,
    Conflict,
    GatewayError,
    IdempotencyKeyInFlight,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InvalidRequest,
    InvalidSignature,
    ItemRequiresVisit,
    MaterialsMissing,
    NotFound,
)
from core.ids import is_certificate_id
from services import listing
from services.applications.records import ApplicationRecords, KeyRecord, NewApplication
from services.applications.rules import (
    RANK,
    ApplicationView,
    check_materials,
)
from services.applications.rules import fingerprint as fingerprint_of
from services.catalog import IN_PERSON, Catalog
from services.gateway import signing
from services.held import HeldCertificate, HeldCertificates
from services.holders import Holder, Holders
from services.times import parse_rfc3339
from services.uploads.rules import UploadView

log = logging.getLogger("lingpao.applications")

PURPOSE_APPLY = "办件材料核验"
MAX_KEY_LENGTH = 255
# Visible ASCII only: a key travels in a header and is compared byte for byte.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,255}$"
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


class UploadLookup(Protocol):
    async def usable_by(self, user_id: str, upload_id: str) -> UploadView | None:
        """The caller's own upload; None for someone else's or an unknown id."""
        ...


@dataclass(frozen=True)
class Filing:
    """What the citizen asks for, as the route parsed it."""

    item_code: str
    materials: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    form: Mapping[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "item_code": self.item_code,
            "materials": {k: dict(v) for k, v in self.materials.items()},
            "form": dict(self.form),
        }


class _KeyKnown(Exception):  # noqa: N818 - a signal inside Applications, never raised out
    """The checks met a known Idempotency-Key before asking the library."""

    def __init__(self, found: KeyRecord) -> None:
        super().__init__()
        self.found = found


@dataclass(frozen=True)
class Filed:
    application: ApplicationView
    replayed: bool


@dataclass(frozen=True)
class CallbackAuth:
    app_key: str
    secret: str
    algorithm: str = signing.HMAC_SHA256


class Applications:
    def __init__(
        self,
        records: ApplicationRecords,
        catalog: Catalog,
        held: HeldCertificates,
        holders: Holders,
        callback_auth: CallbackAuth,
        uploads: UploadLookup | None = None,
        on_filed: Callable[[], None] | None = None,
        clock: Clock = wall,
        key_lease: timedelta = timedelta(seconds=30),
    ) -> None:
        self.records = records
        self.catalog = catalog
        self.held = held
        self.holders = holders
        self.callback_auth = callback_auth
        self.uploads = uploads
        # Wakes the delivery loop so a new application goes out at once, not at the next poll.
        self.on_filed = on_filed or (lambda: None)
        self._clock = clock
        self.key_lease = key_lease

    async def file(self, user_id: str, key: str | None, filing: Filing, request_id: str) -> Filed:
        if not key or not _KEY.fullmatch(key):
            raise IdempotencyKeyRequired()
        body_fingerprint = fingerprint_of(filing.as_dict())
        holder = await self.holders.of_user(user_id)
        try:
            new = await self._checked(holder, filing, request_id, key)
        except _KeyKnown as known:
            return await self._file_with_known_key(
                holder, key, body_fingerprint, filing, request_id, found=known.found
            )
        except (InvalidRequest, NotFound, Conflict):
            earlier = await self._earlier(user_id, key, body_fingerprint)
            if earlier is not None:
                return Filed(earlier, replayed=True)
            raise
        until = new.at + self.key_lease
        application = await self.records.file_new(new, key, body_fingerprint, until)
        if application is None:  # the key is known
            return await self._file_with_known_key(
                holder, key, body_fingerprint, filing, request_id, new
            )
        self.on_filed()
        return Filed(application, replayed=False)

    async def _earlier(
        self, user_id: str, key: str, body_fingerprint: str
    ) -> ApplicationView | None:
        """For a filing the checks refused: the application its key made already (a retry
        is answered with it), or None, and this filing's refusal stands."""
        found = await self.records.key_after_writers(user_id, key)
        if found is None:
            return None
        return await self._settled(user_id, found, body_fingerprint, utc(self._clock))

    async def _settled(
        self, user_id: str, found: KeyRecord, body_fingerprint: str, now: datetime
    ) -> ApplicationView | None:
        """What a key found taken answers: the application it made; a refusal for another
        body, or while its first request is still being handled (it may yet file); None if
        that request died before it finished."""
        if found.fingerprint != body_fingerprint:
            raise IdempotencyKeyReused()
        if found.application_id is not None:
            return await self.get(user_id, found.application_id)
        if found.claimed_until > now:
            raise IdempotencyKeyInFlight()
        return None

    async def _file_with_known_key(
        self,
        holder: Holder,
        key: str,
        body_fingerprint: str,
        filing: Filing,
        request_id: str,
        new: NewApplication | None = None,
        found: KeyRecord | None = None,
    ) -> Filed:
        earlier = await self._replay_or_claim(holder.user_id, key, body_fingerprint, found)
        if earlier is not None:
            return Filed(earlier, replayed=True)
        # The key is ours now: its first request died before it finished, or let it go.
        try:
            if new is None:  # the checks stopped at the known key: made in full now
                new = await self._checked(holder, filing, request_id)
            application = await self.records.create(new, key, body_fingerprint)
        except BaseException:
            # Shielded: a client that hangs up must not leave its key held for the lease.
            await asyncio.shield(self.records.release_key(holder.user_id, key))
            raise
        self.on_filed()
        return Filed(application, replayed=False)

    async def _replay_or_claim(
        self, user_id: str, key: str, body_fingerprint: str, found: KeyRecord | None = None
    ) -> ApplicationView | None:
        """For a key found taken (`found`, if already read): the application it made, or
        None once the key is ours to use."""
        for _ in range(3):
            now = utc(self._clock)
            if found is None:
                found = await self.records.key(user_id, key)
            if found is None:
                # Let go since (its first request was refused): ours if we claim it first.
                until = now + self.key_lease
                if await self.records.claim_key(user_id, key, body_fingerprint, until):
                    return None
                continue
            earlier = await self._settled(user_id, found, body_fingerprint, now)
            if earlier is not None:
                return earlier
            # The first request died before it finished: its key may be used again.
            if await self.records.take_over_key(
                user_id, key, body_fingerprint, now, now + self.key_lease
            ):
                return None
            found = None  # taken over by another meanwhile: read again
        raise IdempotencyKeyInFlight()

    async def _checked(
        self, holder: Holder, filing: Filing, request_id: str, key: str | None = None
    ) -> NewApplication:
        """The application the filing makes, once its item and materials are checked;
        `_KeyKnown` rather than ask the library for a filing whose `key` is known."""
        item = await self.catalog.current_item(filing.item_code)
        if item.mode == IN_PERSON:
            raise ItemRequiresVisit(guide=item.detail()["guide"])
        certificates = await self._certificates_of(holder, filing, request_id, key)
        uploads = await self._uploads_of(holder.user_id, filing)
        problems = check_materials(item, filing.materials, certificates, uploads)
        if problems:
            raise MaterialsMissing(
                missing=sorted({p.code for p in problems}),
                problems=[p.as_dict() for p in problems],
            )
        return NewApplication(
            id=str(uuid.uuid4()),
            user_id=holder.user_id,
            item_code=item.code,
            materials={k: dict(v) for k, v in filing.materials.items()},
            form=dict(filing.form),
            materials_verified=certificates is not None,
            at=utc(self._clock),
            filed_by=holder.id_number_masked,
            request_id=request_id,
        )

    async def _certificates_of(
        self, holder: Holder, filing: Filing, request_id: str, key: str | None = None
    ) -> list[HeldCertificate] | None:
        named = {
            m["certificate_id"]
            for m in filing.materials.values()
            if is_certificate_id(m.get("certificate_id"))  # the rules refuse the others
        }
        if not named:
            return []
        try:
            held = await self.held.remembered(holder.user_id)
            # No facts, or facts older than a certificate just issued (or its renewal): the
            # library is asked, once, before the filing is refused for it.
            if held is None or not named <= {c.id for c in held if c.usable}:
                found = await self.records.key(holder.user_id, key) if key else None
                if found is not None:
                    # A retry, or a key used again: answered from the key, without a
                    # library read in the citizen's access log for a filing that files
                    # nothing.
                    raise _KeyKnown(found)
                held = await self.held.gather(holder, request_id, PURPOSE_APPLY)
            return held
        except GatewayError as exc:
            # The promise holds while the gateway is down: the application is queued, and
            # the gateway checks the certificates itself when it takes the application.
            log.warning("certificates not checked at filing (%s); the gateway will", exc.code)
            return None

    async def _uploads_of(self, user_id: str, filing: Filing) -> dict[str, UploadView]:
        found: dict[str, UploadView] = {}
        for chosen in filing.materials.values():
            upload_id = chosen.get("upload_id")
            if upload_id and self.uploads is not None:
                upload = await self.uploads.usable_by(user_id, upload_id)
                if upload is not None:
                    found[upload_id] = upload
        return found

    async def get(self, user_id: str, application_id: str) -> ApplicationView:
        found = await self.records.get(application_id)
        if found is None or found.user_id != user_id:
            raise ApplicationNotFound()
        return found

    async def page(
        self, user_id: str, cursor: str | None, limit: int
    ) -> tuple[list[ApplicationView], str | None]:
        """The caller's applications, newest first."""
        before = _decode(cursor) if cursor else None
        found = await self.records.page_of(user_id, before, limit + 1)
        chosen = found[:limit]
        more = len(found) > limit
        last = chosen[-1] if chosen else None
        next_cursor = (
            listing.encode_cursor(f"{last.created_at.isoformat()}|{last.id}")
            if more and last
            else None
        )
        return chosen, next_cursor

    async def accept_callback(
        self, method: str, path_qs: str, body: bytes, headers: Mapping[str, str]
    ) -> bool:
        """Checks a gateway callback and moves the application on; True if it changed.

        A duplicate or late callback is acknowledged without a second history entry.
        """
        auth = self.callback_auth
        refused = signing.verify_headers(
            auth.app_key,
            auth.secret,
            method,
            path_qs,
            body,
            headers,
            now=self._clock(),
            algorithm=auth.algorithm,
        )
        if refused is not None:
            raise InvalidSignature(reason=refused)
        now = utc(self._clock)
        nonce = headers.get("x-nonce", "")
        try:
            application_id, status, result = _callback_fields(body)
        except InvalidRequest:
            # A signed callback is used up even when its body is wrong: sent again, it is
            # refused as a replay, as before its body was read.
            if not await self.records.first_nonce_use(nonce, now):
                raise InvalidSignature(reason="replayed_nonce") from None
            raise
        taken = await self.records.take_callback(nonce, now, application_id, status, result)
        if taken == "replayed":
            raise InvalidSignature(reason="replayed_nonce")
        if taken == "unknown":
            raise ApplicationNotFound()
        return taken == "moved"

    async def completed_count(self) -> int:
        return await self.records.completed_count()

    async def forget_old_nonces(self) -> None:
        window = timedelta(seconds=2 * signing.WINDOW_SECONDS)
        await self.records.forget_nonces(utc(self._clock) - window)


def _callback_fields(body: bytes) -> tuple[str, str, str | None]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest("回调不是合法的 JSON Callback is not JSON") from exc
    if not isinstance(payload, dict):
        raise InvalidRequest("回调必须是 JSON 对象 Callback must be an object")
    # Our application id travels to the gateway as the idempotency key and comes back here.
    application_id = payload.get("idempotency_key")
    status = payload.get("status")
    result = payload.get("result_certificate_id")
    if not isinstance(application_id, str):
        raise InvalidRequest(fields=[{"field": "idempotency_key", "problem": "not a string"}])
    if not isinstance(status, str) or status not in RANK:
        raise InvalidRequest(fields=[{"field": "status", "problem": "unknown status"}])
    if result is not None and not is_certificate_id(result):
        # The library's identifiers carry a check character: a wrong one is a forged or
        # garbled result, never something to show the citizen as their certificate.
        raise InvalidRequest(
            fields=[{"field": "result_certificate_id", "problem": "not a GB/T 36904 identifier"}]
        )
    return application_id, str(status), result


def _decode(cursor: str) -> tuple:
    value = listing.decode_cursor(cursor)
    at, _, last_id = value.partition("|")
    try:
        return parse_rfc3339(at), last_id
    except ValueError as exc:
        raise InvalidRequest(fields=[{"field": "cursor", "problem": "not a cursor"}]) from exc
