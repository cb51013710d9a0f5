"""One settings object, read from the environment.

Secrets never live in code: in development a missing key is generated once into
``var/keys/`` (git-ignored); in production a missing secret, or one that is still the
development one, stops the server before it binds a port.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from limits import parse_many

from core.errors import ConfigError

DEV_DIR = Path("var")
DEV_KEYS_DIR = DEV_DIR / "keys"
DEFAULT_DATABASE_URL = f"sqlite://{DEV_DIR}/lingpao.sqlite3"
MOCK_IDP_ISSUER = "https://idp.mock-gateway.zj.example"


@dataclass(frozen=True)
class Setting:
    env: str
    doc: str
    default: str | None = None
    secret: bool = False


# The README's settings table mirrors this list; a unit test keeps the two in step.
SETTINGS: tuple[Setting, ...] = (
    Setting("LINGPAO_ENV", "`development` (generates missing keys) or `production` (refuses them)",
            "development"),
    Setting("HOST", "address the API binds", "127.0.0.1"),
    Setting("PORT", "port the API binds", "8000"),
    Setting("WORKERS", "Sanic worker processes; more than 1 needs `REDIS_URL`", "1"),
    Setting("DATABASE_URL", "tortoise URL: `postgres://…` or `sqlite://…`", DEFAULT_DATABASE_URL),
    Setting("REDIS_URL", "`redis://…`; unset means the in-process stand-in (one worker only)"),
    Setting("GATEWAY_URL", "base URL of the provincial gateway", "http://127.0.0.1:8100"),
    Setting("GATEWAY_APP_KEY", "our app key at the gateway (also the IdP audience)", "lingpao-dev"),
    Setting("GATEWAY_APP_SECRET", "HMAC secret shared with the gateway", secret=True),
    Setting("GATEWAY_TIMEOUT_SECONDS", "read timeout for one gateway call", "5"),
    Setting("IDP_ISSUER", "the `iss` identity tokens must carry",
            "https://idp.mock-gateway.zj.example"),
    Setting("ACCESS_TOKEN_TTL_SECONDS", "lifetime of our access tokens", "900"),
    Setting("REFRESH_TOKEN_TTL_DAYS", "absolute lifetime of a refresh family", "30"),
    Setting("LOGIN_RATE_LIMIT", "logins per client address and per person (`limits` syntax)",
            "20/minute"),
    Setting("REFRESH_RATE_LIMIT", "refreshes per client address and per family", "30/minute"),
    Setting("VERIFY_RATE_LIMIT", "presentation checks per client address", "60/minute"),
    Setting("TOKEN_KEY_PATH", "PEM file of our EC P-256 token-signing key",
            "var/keys/token_signing.pem (development)", secret=True),
    Setting("PII_KEY", "base64 of 32 bytes: encrypts ID numbers at rest and keys their hash",
            secret=True),
    Setting("LOG_LEVEL", "`DEBUG`, `INFO`, `WARNING`, `ERROR`", "INFO"),
    Setting("MAX_BODY_BYTES", "largest JSON request body", str(1024 * 1024)),
    Setting("KEYS_DIR", "where development keys are generated", str(DEV_KEYS_DIR)),
    Setting("TRUSTED_PROXIES", "number of proxies whose X-Forwarded-For is believed", "0"),
)


ENV_NAMES = {"env": "LINGPAO_ENV"}


@dataclass
class Settings:
    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    gateway_url: str = "http://127.0.0.1:8100"
    gateway_app_key: str = "lingpao-dev"
    gateway_app_secret: str = ""
    gateway_timeout_seconds: float = 5.0
    idp_issuer: str = "https://idp.mock-gateway.zj.example"
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_days: int = 30
    login_rate_limit: str = "20/minute"
    refresh_rate_limit: str = "30/minute"
    verify_rate_limit: str = "60/minute"
    token_key_path: str = ""  # empty: token_signing.pem in keys_dir (development only)
    pii_key: str = ""
    log_level: str = "INFO"
    max_body_bytes: int = 1024 * 1024
    trusted_proxies: int = 0
    keys_dir: str = str(DEV_KEYS_DIR)
    # Which secrets were generated here rather than configured: production refuses them.
    generated: list[str] = field(default_factory=list)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name == "generated":
                continue
            raw = environ.get(ENV_NAMES.get(f.name, f.name.upper()))
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, f.type, raw)
        values.update(overrides)
        settings = cls(**values)
        if not settings.token_key_path:
            settings.token_key_path = str(Path(settings.keys_dir) / "token_signing.pem")
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.env not in ("development", "production"):
            raise ConfigError(f"LINGPAO_ENV must be development or production, not {self.env!r}")
        if self.workers < 1:
            raise ConfigError("WORKERS must be at least 1")
        if self.max_body_bytes < 1:
            raise ConfigError("MAX_BODY_BYTES must be positive")
        for name in ("login_rate_limit", "refresh_rate_limit", "verify_rate_limit"):
            try:
                parse_many(getattr(self, name))
            except ValueError as exc:
                raise ConfigError(f"{name.upper()} {getattr(self, name)!r} is not a rate") from exc
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(f"LOG_LEVEL {self.log_level!r} is not a log level")

    def ensure_secrets(self) -> Settings:
        """Fill missing development secrets from var/keys; in production refuse to guess."""
        keys = Path(self.keys_dir)
        if self.production:
            self._refuse_development_secrets(keys)
            return self
        keys.mkdir(parents=True, exist_ok=True)
        if not self.gateway_app_secret:
            self.gateway_app_secret = _read_or_create(
                keys / "gateway_app_secret", lambda: secrets.token_urlsafe(32).encode()
            ).decode()
            self.generated.append("GATEWAY_APP_SECRET")
        if not self.pii_key:
            self.pii_key = _read_or_create(
                keys / "pii.key", lambda: base64.b64encode(secrets.token_bytes(32))
            ).decode()
            self.generated.append("PII_KEY")
        token_path = Path(self.token_key_path)
        if not token_path.exists():
            token_path.parent.mkdir(parents=True, exist_ok=True)
            _read_or_create(token_path, _new_ec_pem)
            self.generated.append("TOKEN_KEY_PATH")
        self.pii_key_bytes()  # fail early on a malformed key
        return self

    def _refuse_development_secrets(self, keys: Path) -> None:
        problems = []
        if not self.gateway_app_secret:
            problems.append("GATEWAY_APP_SECRET is not set")
        elif len(self.gateway_app_secret) < 16:
            problems.append("GATEWAY_APP_SECRET is shorter than 16 characters")
        if not self.pii_key:
            problems.append("PII_KEY is not set")
        else:
            try:
                self.pii_key_bytes()
            except ConfigError as exc:
                problems.append(str(exc))
        token_path = Path(self.token_key_path)
        if not token_path.is_file():
            problems.append(f"TOKEN_KEY_PATH {token_path} does not exist")
        if _is_within(token_path, keys):
            problems.append("TOKEN_KEY_PATH points into the development key folder var/keys")
        if self.gateway_app_key == "lingpao-dev":
            problems.append("GATEWAY_APP_KEY is still the development value 'lingpao-dev'")
        if self.idp_issuer == MOCK_IDP_ISSUER:
            problems.append("IDP_ISSUER is still the mock gateway's issuer")
        for name, value in (("GATEWAY_APP_SECRET", self.gateway_app_secret),
                            ("PII_KEY", self.pii_key)):
            dev_file = keys / ("gateway_app_secret" if name == "GATEWAY_APP_SECRET" else "pii.key")
            if value and dev_file.is_file() and dev_file.read_text().strip() == value:
                problems.append(f"{name} is the development value generated in var/keys")
        if problems:
            raise ConfigError("refusing to start in production: " + "; ".join(problems))

    def check_can_serve(self) -> None:
        if self.workers > 1 and not self.redis_url:
            raise ConfigError(
                f"WORKERS={self.workers} needs REDIS_URL: the in-process Redis stand-in lives in "
                "one process, so workers would not share revocations, rate limits or the cache"
            )

    def pii_key_bytes(self) -> bytes:
        try:
            key = base64.b64decode(self.pii_key, validate=True)
        except ValueError as exc:
            raise ConfigError("PII_KEY is not valid base64") from exc
        if len(key) != 32:
            raise ConfigError("PII_KEY must decode to 32 bytes")
        return key

    def token_private_key_pem(self) -> bytes:
        return Path(self.token_key_path).read_bytes()


def _coerce(name: str, typ: object, raw: str) -> object:
    kind = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name.upper()} must be a number, not {raw!r}") from exc
    if name == "env":
        return raw.strip().lower()
    if name == "redis_url" and not raw.strip():
        return None
    return raw


def _read_or_create(path: Path, make) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    data = make()
    # O_EXCL: two processes starting at once keep whichever key was written first.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return data.strip()


def _new_ec_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
