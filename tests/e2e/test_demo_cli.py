"""`python -m server demo login` as a terminal runs it: the token it prints is accepted by a
running server over the same database and keys, and what it refuses it says in one line.
The README walk-through runs it against `make run` too (test_make_run_walk_through.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.conftest import ROOT, backend_running, free_port


def demo_login(name: str, tmp: Path, **env: str) -> subprocess.CompletedProcess:
    """The command with its database, keys and uploads in `tmp`, where `backend_running`
    keeps a server's: never in the project's var/."""
    return subprocess.run(
        [sys.executable, "-m", "server", "demo", "login", name],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp),
            "LC_ALL": "C.UTF-8",
            "DATABASE_URL": f"sqlite://{tmp / 'lingpao.sqlite3'}",
            "KEYS_DIR": str(tmp / "keys"),
            "UPLOADS_DIR": str(tmp / "uploads"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_printed_token_is_accepted_by_a_running_server(tmp_path, mock_gateway_process):
    gateway = {
        "GATEWAY_URL": mock_gateway_process["url"],
        "GATEWAY_APP_KEY": mock_gateway_process["app_key"],
        "GATEWAY_APP_SECRET": mock_gateway_process["secret"],
    }
    with backend_running(tmp_path, *gateway.values()) as api:
        citizen = demo_login("张三", tmp_path, **gateway)
        ops = demo_login("王五", tmp_path, **gateway)
        assert citizen.returncode == 0, citizen.stderr
        # Nothing but the token, so that `TOKEN=$(python -m server demo login 张三)` works.
        assert citizen.stdout.count("\n") == 1 and " " not in citizen.stdout.strip()
        me = httpx.get(f"{api}/api/v1/me", headers=bearer(citizen.stdout), timeout=10)
        assert me.status_code == 200 and me.json()["name"] == "张三"
        kpis = httpx.get(f"{api}/api/v1/ops/kpis", headers=bearer(ops.stdout), timeout=10)
        assert kpis.status_code == 200


def bearer(stdout: str) -> dict[str, str]:
    return {"authorization": f"Bearer {stdout.strip()}"}


def test_the_demo_login_is_refused_in_production_with_nothing_on_stdout(tmp_path):
    refused = demo_login("张三", tmp_path, LINGPAO_ENV="production")
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert "development only" in refused.stderr and "Traceback" not in refused.stderr


def test_an_unknown_name_is_refused_with_the_demo_citizens_listed(tmp_path):
    refused = demo_login("赵六", tmp_path)
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert "赵六" in refused.stderr
    assert all(name in refused.stderr for name in ("张三", "李四", "王五"))


def test_with_no_gateway_running_the_demo_login_says_so_without_a_traceback(tmp_path):
    nobody = demo_login("张三", tmp_path, MOCK_GATEWAY_PORT=str(free_port()))
    assert nobody.returncode != 0
    assert nobody.stdout == ""
    assert "cannot reach the mock gateway at http://127.0.0.1:" in nobody.stderr
    assert "make run" in nobody.stderr and "Traceback" not in nobody.stderr
    assert "330402199001011230" not in nobody.stderr
