"""`python -m server demo login` as a terminal runs it: what it refuses, and how it says so.
Its working sign-in runs in the README walk-through (test_make_run_walk_through.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.e2e.conftest import ROOT, free_port


def demo_login(name: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server", "demo", "login", name],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_demo_login_is_refused_in_production_with_nothing_on_stdout():
    refused = demo_login("张三", LINGPAO_ENV="production")
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert "development only" in refused.stderr and "Traceback" not in refused.stderr


def test_an_unknown_name_is_refused_with_the_demo_citizens_listed():
    refused = demo_login("赵六")
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert "赵六" in refused.stderr
    assert all(name in refused.stderr for name in ("张三", "李四", "王五"))


def test_with_no_server_running_the_demo_login_says_so_without_a_traceback():
    nobody = demo_login("张三", PORT=str(free_port()), MOCK_GATEWAY_PORT=str(free_port()))
    assert nobody.returncode != 0
    assert nobody.stdout == ""
    assert "cannot reach the mock gateway's IdP" in nobody.stderr
    assert "make run" in nobody.stderr and "Traceback" not in nobody.stderr
    assert "330402199001011230" not in nobody.stderr
