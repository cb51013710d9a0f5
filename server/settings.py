"""One settings object, read once from the environment.

Each setting is declared once, on its field: its environment variable, what it means, and
whether it is a secret. The README's table is generated from these declarations (and a test
keeps the two equal). Development keys are made in `server.devkeys`; paths under `var/`
are resolved against the project root, not the working directory.
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from limits import parse_many

from core.crypto import PiiKeys
from core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DEV_DIR = ROOT / "var"
DEV_KEYS_DIR = DEV_DIR / "keys"
MOCK_IDP_ISSUER = "https://idp.mock-gateway.zj.example"
STUB_OCR_ENGINE = "ocr_stubs.stub:StubOcrEngine"
# Where sanic-ext serves the OpenAPI document and its interactive page (server/app.py).
DOCS_PATH = "/docs"
# The mock gateway's own defaults (mock_gateway/config.py): the backend shares no code with it,
# only the wire, so they are repeated here to find it when GATEWAY_URL is not set.
MOCK_GATEWAY_HOST, MOCK_GATEWAY_PORT = "127.0.0.1", "8100"
CALLBACK_PATH = "/api/v1/gateway/callbacks"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def setting(
    default: Any, doc: str, *, env: str = "", secret: bool = False, shown: str | None = None
) -> Any:
    """A field read from `env` (default: the field's name in capitals); `shown` is how the
    README presents the default when the value itself would mislead (a path, a secret)."""
    return field(
        default=default, metadata={"env": env, "doc": doc, "secret": secret, "shown": shown}
    )


@dataclass(frozen=True)
class Settings:
    env: str = setting(
        "development",
        "`development` (generates missing keys) or `production` (refuses them)",
        env="LINGPAO_ENV",
    )
    host: str = setting("127.0.0.1", "address the API binds")
    port: int = setting(8000, "port the API binds")
    workers: int = setting(1, "Sanic worker processes; more than 1 needs `REDIS_URL`")
    prometheus_multiproc_dir: str = setting(
        "",
        "where the workers keep the samples `/metrics` adds up (Prometheus multiprocess "
        "mode, on whenever `WORKERS` is above 1 or this is set), one folder per instance, "
        "emptied at start",
        shown="a fresh temporary folder when `WORKERS` is above 1",
    )
    shutdown_grace_seconds: float = setting(
        15.0, "on SIGTERM, how long requests in flight may take to be answered"
    )
    database_url: str = setting(
        f"sqlite://{DEV_DIR / 'lingpao.sqlite3'}",
        "tortoise URL: `postgres://…` or `sqlite://…`",
        shown="`sqlite://` file `var/lingpao.sqlite3`",
    )
    database_timeout_seconds: float = setting(
        5.0, "longest wait for a database connection or one statement (PostgreSQL)"
    )
    redis_url: str | None = setting(
        None,
        "`redis://…`, `redis+sentinel://HOST:PORT,…/MASTER[/DB]` (Sentinel) or "
        "`redis+cluster://HOST:PORT,…` (Cluster), see `docs/deploy.md`; unset means the "
        "in-process stand-in (one worker only)",
    )
    gateway_url: str = setting(
        "",
        "base URL of the provincial gateway; required in production",
        shown="in development, the mock gateway: `http://MOCK_GATEWAY_HOST:MOCK_GATEWAY_PORT` "
        "(`127.0.0.1:8100`)",
    )
    gateway_app_key: str = setting(
        "lingpao-dev", "our app key at the gateway (also the IdP audience)"
    )
    gateway_app_secret: str = setting(
        "", "HMAC secret shared with the gateway", secret=True, shown="generated in development"
    )
    gateway_timeout_seconds: float = setting(5.0, "read timeout for one gateway call")
    gateway_max_connections: int = setting(
        32, "connections each worker keeps to the gateway; calls beyond them wait their turn"
    )
    idp_issuer: str = setting(MOCK_IDP_ISSUER, "the `iss` identity tokens must carry")
    access_token_ttl_seconds: int = setting(900, "lifetime of our access tokens")
    refresh_token_ttl_days: int = setting(30, "absolute lifetime of a refresh family")
    login_rate_limit: str = setting(
        "20/minute", "logins per client address and per person (`limits` syntax)"
    )
    refresh_rate_limit: str = setting("30/minute", "refreshes per client address and per family")
    verify_rate_limit: str = setting("60/minute", "presentation checks per client address")
    one_id_cache_seconds: int = setting(
        30,
        "how long the 一证通办 view and filings keep what eligibility needs of a citizen's "
        "certificates (ids, types, validity; never fields); a revocation shows at most this "
        "late (the gateway's intake still refuses it at once); 0: never",
    )
    token_key_path: str = setting(
        "",
        "PEM file of our EC P-256 token-signing key",
        secret=True,
        shown="`token_signing.pem` in `KEYS_DIR` in development",
    )
    pii_key: str = setting(
        "",
        "base64 of 32 bytes: encrypts ID numbers at rest and keys their hash",
        secret=True,
        shown="generated in development",
    )
    crypto_suite: str = setting(
        "standard",
        "personal data at rest: `standard` (AES-256-GCM, HMAC-SHA256) or `guomi` (SM4-GCM, "
        "HMAC-SM3); old rows stay readable, `python -m server rotate-pii` rewrites them "
        "(`docs/crypto.md`)",
    )
    pii_previous_keys: str = setting(
        "",
        "comma-separated base64 PII keys being retired: still read, never written",
        secret=True,
        shown="unset",
    )
    gateway_signature: str = setting(
        "hmac-sha256",
        "how our gateway requests are signed, as the gateway is configured: `hmac-sha256` or "
        "`hmac-sm3`",
    )
    log_level: str = setting("INFO", "`DEBUG`, `INFO`, `WARNING`, `ERROR`")
    max_body_bytes: int = setting(1024 * 1024, "largest JSON request body")
    trusted_proxies: int = setting(0, "number of proxies whose X-Forwarded-For is believed")
    callback_url: str = setting(
        "",
        "where the gateway pushes application status (our public callback URL); required in "
        "production",
        shown="in development, `http://HOST:PORT/api/v1/gateway/callbacks`",
    )
    outbox_in_server: bool = setting(
        True,
        "run the outbox delivery loop in every server process (`false` when "
        "`python -m server outbox-worker` runs apart)",
        shown="`true`",
    )
    outbox_yield_at: int = setting(
        16,
        "requests in flight on a worker from which its delivery loop sends at most one batch "
        "(10) every 0.1 s, leaving the CPU to them; `0`: never yield",
    )
    outbox_max_attempts: int = setting(8, "deliveries tried before a row is parked as dead")
    outbox_lease_seconds: int = setting(
        120, "how long a worker holds a delivery before another may take it over"
    )
    keys_dir: str = setting(
        str(DEV_KEYS_DIR), "where development keys are generated", shown="`var/keys`"
    )
    uploads_dir: str = setting(
        str(DEV_DIR / "uploads"),
        "where uploaded files are kept, encrypted with a key derived from `PII_KEY`",
        shown="`var/uploads`",
    )
    upload_max_bytes: int = setting(
        5 * 1024 * 1024, "largest uploaded file (`POST /api/v1/uploads`)"
    )
    ocr_engine: str = setting(
        STUB_OCR_ENGINE,
        "ID-card OCR engine, as `package.module:Name`; production refuses the stub",
    )
    ops_sign_in_url: str = setting(
        "",
        "the provincial sign-in page the ops console sends an officer to in production; it "
        "hands the identity token back in the URL fragment (`docs/ops-console.md`)",
        shown="unset",
    )
    # Which secrets were generated here rather than configured: production refuses them.
    generated: tuple[str, ...] = ()

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in _declared():
            raw = environ.get(env_name(f))
            if raw is None or raw.strip() == "":
                continue
            values[f.name] = _coerce(f, raw)
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        settings = dataclasses.replace(settings, **settings._derived(environ))
        settings.validate()
        return settings

    def _derived(self, environ: Mapping[str, str]) -> dict[str, Any]:
        """Defaults that follow other settings, so one variable per port moves both sides of
        a development run: PORT moves our callback URL, MOCK_GATEWAY_PORT the gateway's.

        Production derives neither: both would be loopback addresses (the mock gateway, a
        callback URL no gateway can reach), and an unset one is refused with the secrets."""
        derived: dict[str, Any] = {}
        if not self.token_key_path:
            derived["token_key_path"] = str(Path(self.keys_dir) / "token_signing.pem")
        if self.production:
            return derived
        if not self.callback_url:
            derived["callback_url"] = self.api_url + CALLBACK_PATH
        if not self.gateway_url:
            host = environ.get("MOCK_GATEWAY_HOST", "").strip() or MOCK_GATEWAY_HOST
            port = environ.get("MOCK_GATEWAY_PORT", "").strip() or MOCK_GATEWAY_PORT
            if not port.isdigit():
                raise ConfigError(f"MOCK_GATEWAY_PORT must be a number, not {port!r}")
            derived["gateway_url"] = local_url(host, int(port))
        return derived

    @property
    def api_url(self) -> str:
        """Where a client on this machine reaches the API."""
        return local_url(self.host, self.port)

    @property
    def docs_url(self) -> str:
        """The API's interactive documentation (the ReDoc page over /docs/openapi.json)."""
        return self.api_url + DOCS_PATH

    def validate(self) -> None:
        if self.env not in ("development", "production"):
            raise ConfigError(f"LINGPAO_ENV must be development or production, not {self.env!r}")
        if self.workers < 1:
            raise ConfigError("WORKERS must be at least 1")
        if not 1 <= self.gateway_max_connections <= 1000:
            raise ConfigError("GATEWAY_MAX_CONNECTIONS must be 1..1000")
        if not 0 <= self.one_id_cache_seconds <= 3600:
            raise ConfigError("ONE_ID_CACHE_SECONDS must be 0..3600")
        if not 0 < self.shutdown_grace_seconds <= 600:
            raise ConfigError("SHUTDOWN_GRACE_SECONDS must be more than 0 and at most 600")
        if self.max_body_bytes < 1:
            raise ConfigError("MAX_BODY_BYTES must be positive")
        if self.upload_max_bytes < 1:
            raise ConfigError("UPLOAD_MAX_BYTES must be positive")
        if ":" not in self.ocr_engine or not all(self.ocr_engine.partition(":")[::2]):
            raise ConfigError(
                f"OCR_ENGINE {self.ocr_engine!r} is not an import path like 'pkg.mod:Name'"
            )
        for name in ("login_rate_limit", "refresh_rate_limit", "verify_rate_limit"):
            try:
                parse_many(getattr(self, name))
            except ValueError as exc:
                raise ConfigError(f"{name.upper()} {getattr(self, name)!r} is not a rate") from exc
        if self.outbox_yield_at < 0:
            raise ConfigError("OUTBOX_YIELD_AT must be 0 (never) or more")
        if self.outbox_max_attempts < 1:
            raise ConfigError("OUTBOX_MAX_ATTEMPTS must be at least 1")
        # A lease shorter than one gateway call would hand a row on while it is being sent.
        if self.outbox_lease_seconds < 3 * self.gateway_timeout_seconds:
            raise ConfigError("OUTBOX_LEASE_SECONDS must be at least 3 × GATEWAY_TIMEOUT_SECONDS")
        if self.crypto_suite not in ("standard", "guomi"):
            raise ConfigError(f"CRYPTO_SUITE must be standard or guomi, not {self.crypto_suite!r}")
        if self.gateway_signature not in ("hmac-sha256", "hmac-sm3"):
            raise ConfigError(
                f"GATEWAY_SIGNATURE must be hmac-sha256 or hmac-sm3, not {self.gateway_signature!r}"
            )
        if self.redis_url:
            from store.kv import parse_redis_url

            parse_redis_url(self.redis_url)
        if self.log_level.upper() not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL {self.log_level!r} is not a log level")

    def ensure_secrets(self) -> Settings:
        """These settings with development secrets filled in; production refuses to guess."""
        from server import devkeys

        return devkeys.ensure_secrets(self)

    def check_can_serve(self) -> None:
        if self.workers > 1 and not self.redis_url:
            raise ConfigError(
                f"WORKERS={self.workers} needs REDIS_URL: the in-process Redis stand-in lives in "
                "one process, so workers would not share revocations, rate limits or the cache"
            )
        # Loaded here, in the parent process, so a bad engine stops `serve` before any
        # worker starts (each worker loads it again in bootstrap).
        from services.uploads.ocr import engine_from_path

        engine_from_path(self.ocr_engine)

    def pii_key_bytes(self) -> bytes:
        try:
            key = base64.b64decode(self.pii_key, validate=True)
        except ValueError as exc:
            raise ConfigError("PII_KEY is not valid base64") from exc
        if len(key) != 32:
            raise ConfigError("PII_KEY must decode to 32 bytes")
        return key

    def pii_keys(self) -> PiiKeys:
        """The PII key, the suite new data is sealed under, and the keys still read."""
        previous = []
        for n, text in enumerate(k.strip() for k in self.pii_previous_keys.split(",")):
            if not text:
                continue
            try:
                key = base64.b64decode(text, validate=True)
            except ValueError as exc:
                raise ConfigError(f"PII_PREVIOUS_KEYS entry {n + 1} is not valid base64") from exc
            if len(key) != 32:
                raise ConfigError(f"PII_PREVIOUS_KEYS entry {n + 1} must decode to 32 bytes")
            previous.append(key)
        return PiiKeys(self.pii_key_bytes(), self.crypto_suite, tuple(previous))

    def token_private_key_pem(self) -> bytes:
        return Path(self.token_key_path).read_bytes()


def local_url(host: str, port: int) -> str:
    """The URL a client on this machine uses for a server bound to `host`:`port`."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - reading a bind address, not binding
        host = "127.0.0.1"  # a wildcard bind is reached through loopback
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _declared() -> Iterator[dataclasses.Field[Any]]:
    return (f for f in fields(Settings) if "doc" in f.metadata)


def env_name(f: dataclasses.Field[Any]) -> str:
    return f.metadata["env"] or f.name.upper()


def documented() -> list[tuple[str, str, str]]:
    """(variable, meaning, default as shown) for every setting, in declaration order."""
    rows = []
    for f in _declared():
        shown = f.metadata["shown"]
        if shown is None:
            shown = "unset" if f.default is None else f"`{f.default}`"
        rows.append((env_name(f), f.metadata["doc"], shown))
    return rows


def readme_table() -> str:
    lines = ["| variable | meaning | default |", "|---|---|---|"]
    lines += [f"| `{env}` | {doc} | {shown} |" for env, doc, shown in documented()]
    return "\n".join(lines)


def _coerce(f: dataclasses.Field[Any], raw: str) -> object:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{env_name(f)} must be a number, not {raw!r}") from exc
    if kind == "bool":
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{env_name(f)} must be true or false, not {raw!r}")
    if f.name == "env":
        return raw.strip().lower()
    return raw
