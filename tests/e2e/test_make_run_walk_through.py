"""`make run` on ports of its own, and the README's walk-through run against it as written.

The README's shell commands are the documentation: the blocks marked `<!-- walk-through … -->`
are extracted and run with bash, in order, against the processes `make run` started. Only
the ports are moved (the README speaks of the defaults, which another instance may hold).
The run keeps its database, keys and uploads in a temporary folder, never in var/.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import ROOT, free_port

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"<!-- walk-through[^>]*-->\n```sh\n(.*?)```", re.DOTALL)
CURL = re.compile(r"\bcurl\s+(?=[-'\"]|localhost|http)")
# Every curl fails the walk-through on an error status, and prints the status it got.
PRELUDE = """set -euo pipefail
curl() { command curl --fail-with-body --max-time 20 --write-out '\\n<<%{http_code}>>\\n' "$@"; }
"""
ANSWER = re.compile(r"(.*?)\n<<(\d{3})>>\n", re.DOTALL)
# What each step answers, in the README's order: (status, a piece of the body).
EXPECTED = [
    (200, '"status":"ok"'),  # /healthz
    (200, '"gateway":"ok"'),  # /readyz: the API reaches the mock gateway on its moved port
    (200, '"name":"张三"'),  # /me, signed in with the demo command's token
    (200, '"code":"JT002"'),  # one-ID items
    (200, '"key":"zero_trip"'),  # ops KPIs, as 王五
    (202, '"status":"queued"'),
    (200, '"status":"completed"'),  # after the sleep: the gateway called us back
    (200, '"down":true'),
    (202, '"status":"queued"'),  # accepted while the gateway is down
    (200, '"down":false'),
    (200, '"identity_token"'),  # the mock IdP, asked directly
]


def walk_through() -> str:
    return "\n".join(BLOCK.findall(README))


def commands(script: str) -> list[str]:
    return [c.strip() for c in script.replace("\\\n", " ").splitlines() if c.strip()]


def test_every_curl_in_the_readme_is_in_the_walk_through_and_sends_its_body_as_json():
    outside = BLOCK.sub("", README)
    assert CURL.findall(outside) == [], "a curl the walk-through test does not run"
    curls = [c for c in commands(walk_through()) if CURL.search(c)]
    assert len(curls) >= len(EXPECTED)
    for command in curls:
        if " -d " in command:
            assert "-H 'content-type: application/json'" in command, command
    assert "jq" not in walk_through()


def session_members(sid: int) -> dict[int, str]:
    """The live processes of a session, by pid: whatever make run started, at any depth."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        state, _, _, session = stat.rsplit(")", 1)[1].split()[:4]
        if int(session) == sid and state != "Z":
            found[int(entry.name)] = cmdline
    return found


def start_make_run(tmp_path: Path, api: int, mock: int) -> tuple[subprocess.Popen, Path, dict]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "LC_ALL": "C.UTF-8",
        "PORT": str(api),
        "MOCK_GATEWAY_PORT": str(mock),
        "DATABASE_URL": f"sqlite://{tmp_path / 'lingpao.sqlite3'}",
        "KEYS_DIR": str(tmp_path / "keys"),
        "UPLOADS_DIR": str(tmp_path / "uploads"),
        # Well inside the README's `sleep 6` even on a busy machine.
        "MOCK_GATEWAY_INTAKE_DELAY": "0.5",
    }
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        # `-o` the venv stamp: the suite runs from that venv, and must not reinstall it.
        process = subprocess.Popen(
            ["make", "--no-print-directory", "-o", ".venv/.installed-stamp", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, log, env


def wait_until_ready(process: subprocess.Popen, log: Path, api: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(encoding="utf-8")
        banner = log.read_text(encoding="utf-8")
        try:
            ready = httpx.get(f"http://127.0.0.1:{api}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            ready = False
        if ready and "mock gateway " in banner:
            return banner
        time.sleep(0.3)
    raise AssertionError("make run was not ready in time:\n" + log.read_text(encoding="utf-8"))


def var_snapshot() -> set[tuple[str, int]]:
    var = ROOT / "var"
    return {(str(p), p.stat().st_mtime_ns) for p in var.rglob("*")} if var.exists() else set()


def test_the_readme_walk_through_works_against_make_run_on_ports_of_its_own(tmp_path):
    api, mock = free_port(), free_port()
    var_before = var_snapshot()
    process, log, env = start_make_run(tmp_path, api, mock)
    try:
        banner = wait_until_ready(process, log, api, timeout=45)
        assert re.search(rf"API\s+http://127\.0\.0\.1:{api}\n", banner), banner
        assert re.search(rf"documentation\s+http://127\.0\.0\.1:{api}/docs\n", banner), banner
        assert re.search(rf"gateway\s+http://127\.0\.0\.1:{mock}\n", banner), banner
        assert re.search(rf"mock gateway\s+http://127\.0\.0\.1:{mock}\b", banner), banner
        docs = httpx.get(f"http://127.0.0.1:{api}/docs", timeout=5, follow_redirects=True)
        assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
        # The mock's log says what it is, and announces no documentation on its port.
        mock_says = "mock provincial gateway (not the Lingpao API) listening on http://127.0.0.1"
        assert f"{mock_says}:{mock}" in banner
        assert f"{mock}/docs" not in banner

        script = walk_through()
        script = script.replace("localhost:8000", f"localhost:{api}")
        script = script.replace("localhost:8100", f"localhost:{mock}")
        assert not re.search(r":8[01]00\b", script)
        walked = subprocess.run(
            ["bash", "-c", PRELUDE + script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        report = f"stdout:\n{walked.stdout}\nstderr:\n{walked.stderr}"
        assert walked.returncode == 0, report
        answers = [(int(code), body) for body, code in ANSWER.findall(walked.stdout)]
        remaining = iter(answers)
        for status, piece in EXPECTED:
            found = any(code == status and piece in body for code, body in remaining)
            assert found, f"no {status} with {piece} in order\n{report}"

        # SIGTERM to the script, as make relays a Ctrl-C: every process make run started ends.
        script_pid = next(
            pid for pid, cmd in session_members(process.pid).items() if "run-dev.sh" in cmd
        )
        os.kill(script_pid, signal.SIGTERM)
        assert process.wait(timeout=40) == 0, log.read_text(encoding="utf-8")
        deadline = time.monotonic() + 10
        while session_members(process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert session_members(process.pid) == {}
        assert "Traceback" not in log.read_text(encoding="utf-8")
    finally:
        for pid in session_members(process.pid):
            os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)
    assert var_snapshot() == var_before
