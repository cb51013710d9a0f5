"""The composition root: how Lingpao is assembled. A newcomer reads this file first.

Everything is built once, from one `Settings`, into one frozen `Container`:

    Settings
      ├─ database (tortoise) ─────────────── `records_for`: each write with a PostgreSQL
      │                                      form (login, filing, callback, delivery, audit
      │                                      line) in the class for this database (…/postgres.py
      │                                      or …/orm.py); TortoiseItemRecords and the rest
      ├─ redis (or the in-process stand-in) ─ AuthStore (the mirror of refusals that
      │                                      Revocations keeps against the database),
      │                                      RateLimiter, CatalogVersion
      ├─ GatewayClient (the one httpx user) ─ IdP key cache ─▶ IdentityTokenVerifier
      │                                      issuer key cache ─▶ IssuerSeals ─▶ Certificates
      │                                      Catalog (sync, switch, snapshot)
      ├─ AccessTokens ─▶ Sessions ─▶ AuthService (with UserDirectory, audit, rate limits)
      ├─ UserDirectory ─▶ Holders ─▶ Presentations (signed with the token key)
      ├─ UPLOADS_DIR ─▶ UploadStore (BlobCipher from PII_KEY under CRYPTO_SUITE) ─▶ Uploads
      │                 (with Holders and the OCR engine OCR_ENGINE names)
      ├─ Certificates + redis ─▶ HeldCertificates (eligibility facts) ─▶ OneId, Applications
      └─ Applications (records, Catalog, HeldCertificates, Holders, Uploads) ─▶ outbox rows
         OutboxWorker (outbox records, GatewayClient, Holders) ─▶ the gateway; OutboxDesk (ops)

`records.audit` (store/audit.py) is the one audit writer, handed to every service the same
way.

It is used three ways, always through `open_container`/`Container.aclose`: the Sanic app
(`server/app.py`) builds one per worker in `before_server_start` and closes it in
`after_server_stop`; each CLI command (`server/admin.py`, `server/demo.py`) builds one for its
run; the outbox worker builds its own. Nothing here starts background work: the app schedules
the catalog listener and bootstrap itself, as named Sanic tasks.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

from auth.idtoken import IdentityTokenVerifier, idp_key_cache
from auth.records import LoginRecords
from auth.records.orm import (
    TortoiseDecisionRecords,
    TortoiseIdentityTokens,
    TortoiseLogins,
    TortoiseSessionRecords,
    TortoiseUserRecords,
)
from auth.records.postgres import PostgresLogins
from auth.revocations import Revocations
from auth.service import AuthService
from auth.sessions import Sessions
from auth.store import AuthStore
from auth.tokens import AccessTokens
from auth.users import UserDirectory
from core.audit import AuditWriter
from core.clock import utc
from core.crypto import BlobCipher, PiiCipher
from server.ratelimit import RateLimiter
from server.settings import Settings
from services.applications import (
    ApplicationRecords,
    Applications,
    CallbackAuth,
    PostgresApplicationRecords,
    TortoiseApplicationRecords,
)
from services.catalog import Catalog, CatalogVersion, TortoiseItemRecords
from services.certificates import Certificates
from services.gateway import GatewayClient, Transport
from services.held import HeldCertificates
from services.holders import Holders
from services.issuers import IssuerSeals, issuer_key_cache
from services.one_id import OneId
from services.outbox import (
    DeliveryRecords,
    OutboxWorker,
    PostgresDeliveryRecords,
    TortoiseDeliveryRecords,
    TortoiseDeskRecords,
)
from services.outbox.desk import OutboxDesk
from services.presentations import Presentations, TortoisePresentationRecords
from services.uploads import TortoiseUploadRecords, Uploads, UploadStore, engine_from_path
from store import db, kv
from store.audit import LineWriter, OrmAuditWriter, PostgresAuditWriter

GatewayOutcome = Callable[[str, str], None]
DeliveryOutcome = Callable[[str], None]


@dataclass(frozen=True)
class Container:
    """Every long-lived object of one process, built once; `aclose` releases them all."""

    settings: Settings
    redis: kv.KV
    gateway: GatewayClient
    limiter: RateLimiter
    tokens: AccessTokens
    users: UserDirectory
    sessions: Sessions
    auth: AuthService
    catalog: Catalog
    certificates: Certificates
    holders: Holders
    one_id: OneId
    presentations: Presentations
    applications: Applications
    outbox: OutboxWorker
    outbox_desk: OutboxDesk
    uploads: Uploads
    audit: AuditWriter
    _resources: contextlib.AsyncExitStack

    async def aclose(self) -> None:
        await self._resources.aclose()


async def build(
    settings: Settings,
    *,
    gateway_transport: Transport | None = None,
    on_gateway_outcome: GatewayOutcome | None = None,
    on_delivery: DeliveryOutcome | None = None,
    busy: Callable[[], bool] | None = None,
) -> Container:
    """Opens the database, Redis and the gateway client, and wires every service to them."""
    resources = contextlib.AsyncExitStack()
    try:
        # Registered first: a half-finished open is closed too.
        resources.push_async_callback(db.close_database)
        await db.open_database(settings.database_url, settings.database_timeout_seconds)
        client = kv.open_redis(settings.redis_url)
        resources.push_async_callback(kv.close_redis, client)
        gateway = GatewayClient(
            settings.gateway_url,
            settings.gateway_app_key,
            settings.gateway_app_secret,
            timeout_seconds=settings.gateway_timeout_seconds,
            max_connections=settings.gateway_max_connections,
            transport=gateway_transport,
            on_outcome=on_gateway_outcome,
            signature=settings.gateway_signature,
        )
        resources.push_async_callback(gateway.aclose)
        # The limiter shares the one Redis pool, so closing Redis closes it too.
        limiter = RateLimiter(client if settings.redis_url else None)
        return _wire(settings, client, gateway, limiter, resources, on_delivery, busy)
    except BaseException:
        await resources.aclose()
        raise


@dataclass(frozen=True)
class Records:
    """Where everything is kept, for one database. A write with a written-out PostgreSQL
    form (a login, a filing, a callback, a delivery, an audit line) has one complete class
    per database; the rest is the ORM's on both."""

    users: TortoiseUserRecords
    sessions: TortoiseSessionRecords
    identity_tokens: TortoiseIdentityTokens
    decisions: TortoiseDecisionRecords
    logins: LoginRecords
    applications: ApplicationRecords
    deliveries: DeliveryRecords
    desk: TortoiseDeskRecords
    audit: OrmAuditWriter | PostgresAuditWriter


def records_for(database_url: str) -> Records:
    """The records of the database the URL names: chosen once here, not per statement."""
    postgres = db.speaks_asyncpg(database_url)
    audit = PostgresAuditWriter() if postgres else OrmAuditWriter()
    shared = (
        TortoiseUserRecords(),
        TortoiseSessionRecords(audit),
        TortoiseIdentityTokens(),
        TortoiseDecisionRecords(),
    )
    if postgres:
        return Records(
            *shared,
            logins=PostgresLogins(),
            applications=PostgresApplicationRecords(),
            deliveries=PostgresDeliveryRecords(),
            desk=TortoiseDeskRecords(audit),
            audit=audit,
        )
    return Records(
        *shared,
        logins=TortoiseLogins(),
        applications=TortoiseApplicationRecords(),
        deliveries=TortoiseDeliveryRecords(),
        desk=TortoiseDeskRecords(audit),
        audit=audit,
    )


def _wire(
    settings: Settings,
    client: kv.KV,
    gateway: GatewayClient,
    limiter: RateLimiter,
    resources: contextlib.AsyncExitStack,
    on_delivery: DeliveryOutcome | None = None,
    busy: Callable[[], bool] | None = None,
) -> Container:
    tokens = AccessTokens(settings.token_private_key_pem(), settings.access_token_ttl_seconds)
    records = records_for(settings.database_url)
    users = UserDirectory(PiiCipher(settings.pii_keys()), records.users)
    identity_tokens, decisions, audit = records.identity_tokens, records.decisions, records.audit
    replicated = (
        settings.redis_url is not None and kv.parse_redis_url(settings.redis_url).replicated
    )
    revocations = Revocations(
        decisions,
        AuthStore(client, replicas=1 if replicated else 0, ack_ms=kv.REPLICA_ACK_MS),
        timedelta(seconds=settings.access_token_ttl_seconds),
    )
    resources.push_async_callback(revocations.aclose)
    sessions, auth = _auth(settings, revocations, tokens, users, gateway, limiter, records)
    catalog = Catalog(TortoiseItemRecords(audit), gateway, CatalogVersion(client))
    certificates = Certificates(
        gateway, IssuerSeals(issuer_key_cache(gateway.certificate_issuers)), audit
    )
    holders = Holders(users)
    presentations = Presentations(
        certificates,
        holders,
        TortoisePresentationRecords(),
        audit,
        private_key=tokens.private_key,
        public_key=tokens.public_key,
        kid=tokens.kid,
    )
    outbox = OutboxWorker(
        records.deliveries,
        gateway,
        holders,
        settings.callback_url,
        max_attempts=settings.outbox_max_attempts,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        on_outcome=on_delivery,
        busy=busy,
    )
    uploads = _uploads(settings, holders, audit)
    held = HeldCertificates(certificates, client, settings.one_id_cache_seconds)
    applications = Applications(
        records.applications,
        catalog,
        held,
        holders,
        CallbackAuth(
            settings.gateway_app_key, settings.gateway_app_secret, settings.gateway_signature
        ),
        uploads=uploads,
        on_filed=outbox.wake,
    )
    outbox.chores = partial(_housekeeping, applications, identity_tokens, decisions)
    return Container(
        settings=settings,
        redis=client,
        gateway=gateway,
        limiter=limiter,
        tokens=tokens,
        users=users,
        sessions=sessions,
        auth=auth,
        catalog=catalog,
        certificates=certificates,
        holders=holders,
        one_id=OneId(catalog, held, holders),
        presentations=presentations,
        applications=applications,
        outbox=outbox,
        outbox_desk=OutboxDesk(records.desk, on_requeued=outbox.wake),
        uploads=uploads,
        audit=audit,
        _resources=resources,
    )


def _auth(
    settings: Settings,
    store: Revocations,
    tokens: AccessTokens,
    users: UserDirectory,
    gateway: GatewayClient,
    limiter: RateLimiter,
    records: Records,
) -> tuple[Sessions, AuthService]:
    sessions = Sessions(
        tokens, store, records.sessions, timedelta(days=settings.refresh_token_ttl_days)
    )
    # The IdP's keys come through the one gateway client: auth opens no connection itself.
    # Used identity tokens are kept in the database, by the login's own write
    # (records.logins): Redis may restart empty.
    verifier = IdentityTokenVerifier(
        idp_key_cache(gateway.idp_jwks),
        settings.idp_issuer,
        settings.gateway_app_key,
    )
    auth = AuthService(
        verifier,
        users,
        sessions,
        records.logins,
        store,
        records.audit,
        identity_limiter=partial(limiter.hit, settings.login_rate_limit, "login-person"),
        family_limiter=partial(limiter.hit, settings.refresh_rate_limit, "refresh-family"),
    )
    return sessions, auth


def _uploads(settings: Settings, holders: Holders, audit: LineWriter) -> Uploads:
    store = UploadStore(Path(settings.uploads_dir), BlobCipher(settings.pii_keys()))
    store.purge_stale_spools()
    return Uploads(
        store,
        TortoiseUploadRecords(audit),
        holders,
        engine_from_path(settings.ocr_engine),
        max_bytes=settings.upload_max_bytes,
    )


async def _housekeeping(
    applications: Applications,
    identity_tokens: TortoiseIdentityTokens,
    decisions: TortoiseDecisionRecords,
) -> None:
    """What the delivery loop also does now and then: forget what no longer protects."""
    await applications.forget_old_nonces()
    await identity_tokens.forget_expired(utc())
    await decisions.forget_expired(utc())


@contextlib.asynccontextmanager
async def open_container(
    settings: Settings,
    *,
    gateway_transport: Transport | None = None,
    on_gateway_outcome: GatewayOutcome | None = None,
) -> AsyncIterator[Container]:
    container = await build(
        settings, gateway_transport=gateway_transport, on_gateway_outcome=on_gateway_outcome
    )
    try:
        yield container
    finally:
        await container.aclose()
