"""The real processes the fault suite starts: the mock gateway and the backend, each in a
session of its own so that a signal or a kill reaches every process it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, mock_gateway_running, stop, wait_until_up

APP_KEY, SECRET = "lingpao-crash", "crash-test-secret-0123456789"


@pytest.fixture
def gateway_process():
    with mock_gateway_running(APP_KEY, SECRET, intake_delay=0.2) as url:
        yield url


def backend_env(
    tmp_path: Path, port: int, pg_url: str, redis_url: str, gateway: str
) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PORT": str(port),
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "KEYS_DIR": str(tmp_path / "keys"),
        "GATEWAY_URL": gateway,
        "GATEWAY_APP_KEY": APP_KEY,
        "GATEWAY_APP_SECRET": SECRET,
        "GATEWAY_TIMEOUT_SECONDS": "2",
        "OUTBOX_LEASE_SECONDS": "6",
        "LOG_LEVEL": "WARNING",
        "CALLBACK_URL": f"http://127.0.0.1:{port}/api/v1/gateway/callbacks",
    }


def start_backend(
    tmp_path: Path, port: int, pg_url: str, redis_url: str, gateway: str, **extra: str
) -> subprocess.Popen:
    env = {**backend_env(tmp_path, port, pg_url, redis_url, gateway), **extra}
    # A session of its own: Sanic serves from a worker process, and a crash must take the
    # whole server down, worker included, as a killed container or host would.
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
    return process


def kill_all(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signals the server and every process it started (SIGKILL: a crash)."""
    stop(process, sig)
