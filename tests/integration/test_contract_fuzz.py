"""Schemathesis against the served OpenAPI document: the app on a real socket, on
PostgreSQL and Redis, signed in as a citizen and as ops, every check on.

Examples per operation: CONTRACT_EXAMPLES (10 here; `make fuzz` runs many more).
Logout runs last, alone, with a token of its own, so the other runs keep theirs.
"""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from tests.e2e.conftest import ROOT, free_port, stop
from tests.faults.processes import gateway_process, start_backend

__all__ = ["gateway_process"]

EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "10"))
pytestmark = pytest.mark.timeout(300 + 40 * EXAMPLES)
ZHANG = {"id_number": "330402199001011230", "name": "张三", "assurance": "face"}
WANG = {"id_number": "330402197803203454", "name": "王五", "assurance": "face"}
UNLIMITED = {f"{name}_RATE_LIMIT": "1000000/minute" for name in ("LOGIN", "REFRESH", "VERIFY")}


def signed_in(api: str, gateway: str, person: dict) -> str:
    identity = httpx.post(f"{gateway}/idp/token", json=person, timeout=10).json()
    answer = httpx.post(
        f"{api}/api/v1/auth/login", json={"identity_token": identity["identity_token"]}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def schemathesis(api: str, token: str, *selection: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(ROOT / "tests" / "contract" / "schemathesis.toml"),
            "run",
            f"{api}/docs/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES),
            "--header",
            f"Authorization: Bearer {token}",
            "--workers",
            "1",
            "--no-color",
            "--generation-database",
            "none",
            *selection,
        ],
        cwd=ROOT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.contract.hooks"},
        capture_output=True,
        text=True,
        timeout=200 + 30 * EXAMPLES,
    )


def test_schemathesis_finds_nothing_as_a_citizen_as_ops_and_in_logout(
    tmp_path, fresh_pg_url, redis_url, gateway_process
):
    port = free_port()
    process = start_backend(tmp_path, port, fresh_pg_url, redis_url, gateway_process, **UNLIMITED)
    api = f"http://127.0.0.1:{port}"
    try:
        runs = {
            "citizen": (
                signed_in(api, gateway_process, ZHANG),
                "--exclude-path",
                "/api/v1/auth/logout",
            ),
            "ops": (signed_in(api, gateway_process, WANG), "--exclude-path", "/api/v1/auth/logout"),
            "logout": (
                signed_in(api, gateway_process, ZHANG),
                "--include-path",
                "/api/v1/auth/logout",
            ),
        }
        for who, (token, *selection) in runs.items():
            done = schemathesis(api, token, *selection)
            assert done.returncode == 0, f"{who}:\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
            assert " passed" in done.stdout, done.stdout[-2000:]
    finally:
        stop(process)
