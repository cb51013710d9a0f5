"""The mock gateway's own settings, from MOCK_GATEWAY_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class MockConfig:
    host: str = "127.0.0.1"
    port: int = 8100
    # Faults and key rotation exist only in development: a rehearsal tool, never a backdoor.
    development: bool = True
    app_key: str = "lingpao-dev"
    app_secret: str = ""
    seed: int = 20190705
    intake_delay_seconds: float = 2.0
    issuer: str = "https://idp.mock-gateway.zj.example"
    # How requests and callbacks are signed: the backend's GATEWAY_SIGNATURE must agree.
    signature: str = "hmac-sha256"

    @classmethod
    def from_env(cls, environ=None) -> MockConfig:
        env = os.environ if environ is None else environ
        secret = env.get("MOCK_GATEWAY_APP_SECRET", "")
        secret_file = env.get("MOCK_GATEWAY_APP_SECRET_FILE")
        if not secret and secret_file and Path(secret_file).is_file():
            secret = Path(secret_file).read_text().strip()
        if not secret:
            raise SystemExit(
                "mock gateway: set MOCK_GATEWAY_APP_SECRET (the backend's "
                "GATEWAY_APP_SECRET) or MOCK_GATEWAY_APP_SECRET_FILE"
            )
        return cls(
            host=env.get("MOCK_GATEWAY_HOST", cls.host),
            port=int(env.get("MOCK_GATEWAY_PORT", cls.port)),
            development=env.get("MOCK_GATEWAY_ENV", "development") == "development",
            app_key=env.get("MOCK_GATEWAY_APP_KEY", cls.app_key),
            app_secret=secret,
            seed=int(env.get("MOCK_GATEWAY_SEED", cls.seed)),
            intake_delay_seconds=float(
                env.get("MOCK_GATEWAY_INTAKE_DELAY", cls.intake_delay_seconds)
            ),
            issuer=env.get("MOCK_GATEWAY_ISSUER", cls.issuer),
            signature=_signature(env.get("MOCK_GATEWAY_SIGNATURE", cls.signature)),
        )


def _signature(name: str) -> str:
    if name not in ("hmac-sha256", "hmac-sm3"):
        raise SystemExit(
            f"mock gateway: MOCK_GATEWAY_SIGNATURE is hmac-sha256 or hmac-sm3, not {name!r}"
        )
    return name
