"""The composition root: builds the services from settings and the app's resources."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sanic import Sanic

from auth.crypto import PiiCipher
from auth.idtoken import IdentityTokenVerifier, JwksCache
from auth.orm import TortoiseSessionRecords, TortoiseUserRecords
from auth.service import AuthService
from auth.sessions import Sessions
from auth.store import AuthStore
from auth.tokens import AccessTokens
from auth.users import UserDirectory
from core.errors import InvalidToken
from server.ratelimit import RateLimiter
from server.settings import Settings
from services import audit, catalog
from services.certificates import Certificates, Holder
from services.presentations import Presentations

log = logging.getLogger("lingpao.wiring")


def build_certificates(app: Sanic) -> None:
    users: UserDirectory = app.ctx.users

    async def holder_of_user(user_id: str) -> Holder:
        user = await users.get(user_id)
        if user is None:
            raise InvalidToken(reason="user_gone")
        return Holder(str(user.id), users.id_number_of(user), user.id_masked)

    tokens: AccessTokens = app.ctx.tokens
    app.ctx.holder_of_user = holder_of_user
    app.ctx.certificates = Certificates(app.ctx.gateway, app.ctx.issuer_keys)
    app.ctx.presentations = Presentations(app.ctx.certificates, tokens.private_key,
                                          tokens.public_key, tokens.kid, holder_of_user)


@dataclass(frozen=True)
class AuthParts:
    store: AuthStore
    tokens: AccessTokens
    users: UserDirectory
    sessions: Sessions


def auth_parts(settings: Settings, redis) -> AuthParts:
    """What both the server and the command line need to manage users and sessions."""
    store = AuthStore(redis)
    tokens = AccessTokens(settings.token_private_key_pem(), settings.access_token_ttl_seconds)
    users = UserDirectory(PiiCipher(settings.pii_key_bytes()), TortoiseUserRecords())
    return AuthParts(store, tokens, users,
                     Sessions(tokens, store, TortoiseSessionRecords(),
                              timedelta(days=settings.refresh_token_ttl_days)))


def build_auth(app: Sanic, settings: Settings) -> None:
    parts = auth_parts(settings, app.ctx.redis)
    # The IdP's keys come through the one gateway client: auth opens no connection itself.
    jwks = JwksCache(app.ctx.gateway.idp_jwks)
    verifier = IdentityTokenVerifier(jwks, settings.idp_issuer, settings.gateway_app_key,
                                     parts.store)
    limiter = RateLimiter(settings.redis_url)
    app.ctx.tokens = parts.tokens
    app.ctx.sessions = parts.sessions
    app.ctx.limiter = limiter
    app.ctx.users = parts.users
    app.ctx.auth = AuthService(
        verifier, parts.users, parts.sessions, parts.store, audit.record,
        identity_limiter=partial(limiter.hit, settings.login_rate_limit, "login-person"),
        family_limiter=partial(limiter.hit, settings.refresh_rate_limit, "refresh-family"),
    )


async def catalog_bootstrap(app: Sanic, stopping: asyncio.Event, pause: float = 2.0,
                            max_pause: float = 60.0) -> None:
    """Fills an empty catalog from the gateway, retrying until the gateway answers.

    Runs beside the server rather than before it, so a gateway that starts after us (as
    under `make run`) delays the catalog, not the API. It is stopped between attempts,
    never cancelled inside one: a sync cut off mid-transaction would hold the database.
    """
    synced = False
    while not stopping.is_set():
        try:
            if not synced:
                if not await catalog.is_empty():
                    return
                counts = await catalog.sync(app.ctx.gateway)
                synced = True
                log.info("catalog synced from the gateway: %s", counts)
            # Until the version moves, other processes keep serving their empty catalog.
            await app.ctx.catalog_version.bump()
            return
        except Exception as exc:  # noqa: BLE001 - gateway, database or Redis: try again later
            log.warning("catalog bootstrap failed (%s); retrying in %.0f s",
                        getattr(exc, "code", type(exc).__name__), pause)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), pause)
        pause = min(max_pause, pause * 2)
