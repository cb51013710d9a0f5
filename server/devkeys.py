"""Development secrets: generated once into `KEYS_DIR` (git-ignored), refused in production.

In development a missing secret is made on first run and reused after; in production a
missing secret, or one that is still a development one, stops the server before it binds.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from core.errors import ConfigError
from server.settings import MOCK_IDP_ISSUER, Settings

SECRET_FILES = {"GATEWAY_APP_SECRET": "gateway_app_secret", "PII_KEY": "pii.key"}


def ensure_secrets(settings: Settings) -> Settings:
    keys = Path(settings.keys_dir)
    if settings.production:
        refuse_development_secrets(settings, keys)
        return settings
    keys.mkdir(parents=True, exist_ok=True)
    secret, pii_key = settings.gateway_app_secret, settings.pii_key
    generated = list(settings.generated)
    if not settings.gateway_app_secret:
        secret = _read_or_create(
            keys / SECRET_FILES["GATEWAY_APP_SECRET"], lambda: secrets.token_urlsafe(32).encode()
        ).decode()
        generated.append("GATEWAY_APP_SECRET")
    if not settings.pii_key:
        pii_key = _read_or_create(
            keys / SECRET_FILES["PII_KEY"], lambda: base64.b64encode(secrets.token_bytes(32))
        ).decode()
        generated.append("PII_KEY")
    token_path = Path(settings.token_key_path)
    if not token_path.exists():
        token_path.parent.mkdir(parents=True, exist_ok=True)
        _read_or_create(token_path, new_ec_pem)
        generated.append("TOKEN_KEY_PATH")
    filled = dataclasses.replace(
        settings, generated=tuple(generated), gateway_app_secret=secret, pii_key=pii_key
    )
    filled.pii_keys()  # fail early on a malformed key, current or previous
    return filled


def refuse_development_secrets(settings: Settings, keys: Path) -> None:
    problems = []
    if not settings.gateway_app_secret:
        problems.append("GATEWAY_APP_SECRET is not set")
    elif len(settings.gateway_app_secret) < 16:
        problems.append("GATEWAY_APP_SECRET is shorter than 16 characters")
    if not settings.pii_key:
        problems.append("PII_KEY is not set")
    else:
        try:
            settings.pii_keys()
        except ConfigError as exc:
            problems.append(str(exc))
    token_path = Path(settings.token_key_path)
    if not token_path.is_file():
        problems.append(f"TOKEN_KEY_PATH {token_path} does not exist")
    if _is_within(token_path, keys):
        problems.append("TOKEN_KEY_PATH points into the development key folder var/keys")
    # Unset, development would reach for loopback: the mock gateway, and a callback URL on
    # this machine that the provincial gateway cannot call (Settings._derived).
    if not settings.gateway_url:
        problems.append("GATEWAY_URL is not set (development falls back to the mock gateway)")
    if not settings.callback_url:
        problems.append(
            "CALLBACK_URL is not set (development derives a loopback address from HOST and PORT)"
        )
    if settings.gateway_app_key == "lingpao-dev":
        problems.append("GATEWAY_APP_KEY is still the development value 'lingpao-dev'")
    if settings.idp_issuer == MOCK_IDP_ISSUER:
        problems.append("IDP_ISSUER is still the mock gateway's issuer")
    if settings.ocr_engine.startswith("ocr_stubs."):
        # The stub believes whatever number a file claims to show: no check at all.
        problems.append("OCR_ENGINE is still a stub engine from ocr_stubs")
    for name, value in (
        ("GATEWAY_APP_SECRET", settings.gateway_app_secret),
        ("PII_KEY", settings.pii_key),
    ):
        dev_file = keys / SECRET_FILES[name]
        if value and dev_file.is_file() and dev_file.read_text().strip() == value:
            problems.append(f"{name} is the development value generated in var/keys")
    if problems:
        raise ConfigError("refusing to start in production: " + "; ".join(problems))


def _read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
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


def new_ec_pem() -> bytes:
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
