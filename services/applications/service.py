"""Filing applications once, reading them back, and moving them on as the gateway reports.

A filing is idempotent per user and Idempotency-Key. The item and the materials are checked
first; then the key, the application, its outbox row and its audit line are stored as one
(`file_new`), or, if the key is known already, nothing is: the application it made is
answered again, or a key used with another body is refused. A refusal stores nothing, and
a retry of a filing that went through gets its application back whatever the checks say
now, even while that filing is still being written (the records wait for it).
"""

from __future__ import annotations

import enum
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
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
from core.ids import is_certificate_id, is_uuid
from services import listing
from services.applications.records.port import ApplicationRecords, KeyRecord, NewApplication
from services.applications.rules import (
    RANK,
    ApplicationView,
    check_materials,
)
from services.applications.rules import fingerprint as fingerprint_of
from services.catalog import IN_PERSON, ItemView
from services.gateway import signing
from services.held import HeldCertificate
from services.holders import Holder
from services.times import parse_rfc3339
from services.uploads.rules import UploadView

log = logging.getLogger("lingpao.applications")

PURPOSE_APPLY = "办件材料核验"
MAX_KEY_LENGTH = 255
# Visible ASCII only: a key travels in a header and is compared byte for byte.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,255}$"
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


class ItemLookup(Protocol):
    async def current_item(self, code: str) -> ItemView:
        """The item as the catalog serves it now; ItemNotFound for an unknown code."""
        ...


class CertificateFacts(Protocol):
    async def remembered(self, user_id: str) -> list[HeldCertificate] | None: ...

    async def gather(
        self, holder: Holder, request_id: str, purpose: str
    ) -> list[HeldCertificate]: ...


class HolderLookup(Protocol):
    async def of_user(self, user_id: str) -> Holder: ...


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
        catalog: ItemLookup,
        held: CertificateFacts,
        holders: HolderLookup,
        callback_auth: CallbackAuth,
        uploads: UploadLookup | None = None,
        on_filed: Callable[[], None] | None = None,
        clock: Clock = wall,
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

    async def file(self, user_id: str, key: str | None, filing: Filing, request_id: str) -> Filed:
        if not key or not _KEY.fullmatch(key):
            raise IdempotencyKeyRequired()
        body = fingerprint_of(filing.as_dict())
        holder = await self.holders.of_user(user_id)
        try:
            checked = await self._checked(holder, filing, request_id, key)
        except (InvalidRequest, NotFound, Conflict):
            found = await self.records.key_once_written(user_id, key)
            if found is None:
                raise
            return await self._answer_of(user_id, found, body)
        if isinstance(checked, KeyRecord):
            return await self._answer_of(user_id, checked, body)
        application = await self.records.file_new(checked, key, body)
        if application is None:  # a filing of the same key got there first
            return await self._answer_of(user_id, await self.records.key(user_id, key), body)
        self.on_filed()
        return Filed(application, replayed=False)

    async def _answer_of(self, user_id: str, found: KeyRecord | None, body: str) -> Filed:
        """What a known key answers: the application it made; 409 for another body."""
        if found is not None and found.fingerprint != body:
            raise IdempotencyKeyReused()
        if found is None or found.application_id is None:
            # Held by an instance of the previous release, mid-upgrade: it may yet file.
            raise IdempotencyKeyInFlight()
        return Filed(await self.get(user_id, found.application_id), replayed=True)

    async def _checked(
        self, holder: Holder, filing: Filing, request_id: str, key: str
    ) -> NewApplication | KeyRecord:
        """The application the filing makes, once its item and materials are checked; or,
        where the library would be asked, its key's record if the key is known (a retry is
        answered from it, with no library read in the access log for a filing that files
        nothing)."""
        item = await self.catalog.current_item(filing.item_code)
        if item.mode == IN_PERSON:
            raise ItemRequiresVisit(guide=item.detail()["guide"])
        certificates = await self._remembered(holder, filing)
        if certificates is _ASK_LIBRARY:
            found = await self.records.key(holder.user_id, key)
            if found is not None:
                return found
            certificates = await self._gathered(holder, request_id)
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

    async def _remembered(
        self, holder: Holder, filing: Filing
    ) -> list[HeldCertificate] | None | _AskLibrary:
        """The caller's certificates as far as the filing needs them: none named, or the
        remembered facts; `_ASK_LIBRARY` when those are missing or older than a certificate
        just issued (or its renewal); None when they cannot be read (see `_gathered`)."""
        named = {
            m["certificate_id"]
            for m in filing.materials.values()
            if is_certificate_id(m.get("certificate_id"))  # the rules refuse the others
        }
        if not named:
            return []
        try:
            held = await self.held.remembered(holder.user_id)
        except GatewayError as exc:
            _unchecked(exc)
            return None
        if held is None or not named <= {c.id for c in held if c.usable}:
            return _ASK_LIBRARY
        return held

    async def _gathered(self, holder: Holder, request_id: str) -> list[HeldCertificate] | None:
        try:
            return await self.held.gather(holder, request_id, PURPOSE_APPLY)
        except GatewayError as exc:
            _unchecked(exc)
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


class _AskLibrary(enum.Enum):
    ASK = "ask"


_ASK_LIBRARY = _AskLibrary.ASK


def _unchecked(exc: GatewayError) -> None:
    # The promise holds while the gateway is down: the application is queued, and the
    # gateway checks the certificates itself when it takes the application.
    log.warning("certificates not checked at filing (%s); the gateway will", exc.code)


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
        after = parse_rfc3339(at)
    except ValueError as exc:
        raise listing.bad_cursor() from exc
    if not is_uuid(last_id):  # an application's id, as its column holds them
        raise listing.bad_cursor()
    return after, last_id
