"""The composition root: builds the services from settings and the app's resources."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from sanic import Sanic

from auth.crypto import PiiCipher
from auth.idtoken import IdentityTokenVerifier, JwksCache
from auth.service import AuthService
from auth.sessions import Sessions
from auth.store import AuthStore
from auth.tokens import AccessTokens
from auth.users import UserDirectory
from server.ratelimit import RateLimiter
from server.settings import Settings
from services import audit


def build_auth(app: Sanic, settings: Settings) -> None:
    store = AuthStore(app.ctx.redis)
    tokens = AccessTokens(settings.token_private_key_pem(), settings.access_token_ttl_seconds)
    # The IdP's keys come through the one gateway client: auth opens no connection itself.
    jwks = JwksCache(app.ctx.gateway.idp_jwks)
    verifier = IdentityTokenVerifier(jwks, settings.idp_issuer, settings.gateway_app_key, store)
    users = UserDirectory(PiiCipher(settings.pii_key_bytes()))
    sessions = Sessions(tokens, store, timedelta(days=settings.refresh_token_ttl_days))
    limiter = RateLimiter(settings.redis_url)
    app.ctx.tokens = tokens
    app.ctx.sessions = sessions
    app.ctx.limiter = limiter
    app.ctx.users = users
    app.ctx.auth = AuthService(
        verifier, users, sessions, store, audit.record,
        identity_limiter=partial(limiter.hit, settings.login_rate_limit, "login-person"),
        family_limiter=partial(limiter.hit, settings.refresh_rate_limit, "refresh-family"),
    )
