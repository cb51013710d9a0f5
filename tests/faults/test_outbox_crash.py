"""A backend killed after the gateway took an application, before it could mark it as
sent: the next process sends it again and the gateway's idempotency key keeps it one.

Real processes on real sockets: the mock gateway, and the backend started, SIGKILLed and
started again on the same PostgreSQL and Redis.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import asyncpg
import httpx
import pytest

from tests.e2e.conftest import ROOT, free_port
from tests.faults.processes import backend_env, gateway_process, kill_all, start_backend

__all__ = ["gateway_process"]

pytestmark = pytest.mark.timeout(120)


def until(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("not reached in time")


async def outbox_state(pg_url: str) -> list[tuple[str, int]]:
    conn = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://", 1))
    try:
        rows = await conn.fetch("SELECT state, attempts FROM outbox")
        return [(r["state"], r["attempts"]) for r in rows]
    finally:
        await conn.close()


def file_one(
    http: httpx.Client, api: str, gateway: str, key: str, before_filing: dict | None = None
) -> tuple[dict, str]:
    """Logs 张三 in and files JT002 with his ID card; (auth headers, application id)."""
    until(lambda: http.get(f"{api}/api/v1/items/JT002").status_code == 200)
    identity = http.post(
        f"{gateway}/idp/token",
        json={"id_number": "330402199001011230", "name": "张三", "assurance": "face"},
    ).json()
    tokens = http.post(
        f"{api}/api/v1/auth/login", json={"identity_token": identity["identity_token"]}
    ).json()
    auth = {"authorization": f"Bearer {tokens['access_token']}"}
    certs = http.get(f"{api}/api/v1/me/certificates", headers=auth).json()["items"]
    id_card = next(c["id"] for c in certs if c["type"] == "111" and c["status"] == "valid")
    if before_filing is not None:
        http.put(f"{gateway}/_admin/faults", json=before_filing)
    filed = http.post(
        f"{api}/api/v1/applications",
        headers={**auth, "idempotency-key": key},
        json={"item_code": "JT002", "materials": {"id_card": {"certificate_id": id_card}}},
    )
    assert filed.status_code == 202, filed.text
    return auth, filed.json()["id"]


async def test_the_outbox_worker_command_delivers_apart_from_the_server_and_stops_on_sigterm(
    tmp_path, fresh_pg_url, redis_url, gateway_process
):
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    backend = start_backend(
        tmp_path, port, fresh_pg_url, redis_url, gateway_process, OUTBOX_IN_SERVER="false"
    )
    worker = None
    try:
        with httpx.Client(timeout=10) as http:
            auth, application = file_one(http, api, gateway_process, "apart-1")
            time.sleep(1.0)
            assert await outbox_state(fresh_pg_url) == [("pending", 0)]  # the server sends none
            env = {**backend_env(tmp_path, port, fresh_pg_url, redis_url, gateway_process)}
            worker = subprocess.Popen(
                [sys.executable, "-m", "server", "outbox-worker"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            until(
                lambda: (
                    http.get(f"{api}/api/v1/applications/{application}", headers=auth).json()[
                        "status"
                    ]
                    == "completed"
                )
            )
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
        assert b"Traceback" not in (worker.stderr.read() if worker.stderr else b"")
        assert await outbox_state(fresh_pg_url) == [("delivered", 0)]
    finally:
        if worker is not None and worker.poll() is None:
            kill_all(worker)
        kill_all(backend, signal.SIGTERM)


async def test_a_crash_after_the_gateway_took_it_is_redelivered_and_stays_one_application(
    tmp_path, fresh_pg_url, redis_url, gateway_process
):
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    backend = start_backend(tmp_path, port, fresh_pg_url, redis_url, gateway_process)
    try:
        with httpx.Client(timeout=10) as http:
            # From the filing on, the gateway acts at once but answers late.
            auth, application = file_one(
                http, api, gateway_process, "crash-1", before_filing={"answer_delay_ms": 1500}
            )
            # The gateway has it (its callback arrived) while our send still waits.
            until(
                lambda: (
                    http.get(f"{api}/api/v1/applications/{application}", headers=auth).json()[
                        "status"
                    ]
                    == "accepted"
                ),
                timeout=10,
            )
            kill_all(backend)
        assert await outbox_state(fresh_pg_url) == [("in_flight", 0)]  # never marked

        backend = start_backend(tmp_path, port, fresh_pg_url, redis_url, gateway_process)
        with httpx.Client(timeout=10) as http:
            http.put(f"{gateway_process}/_admin/faults", json={"answer_delay_ms": 0})
            for _ in range(300):
                if await outbox_state(fresh_pg_url) == [("delivered", 0)]:
                    break
                time.sleep(0.1)
            assert await outbox_state(fresh_pg_url) == [("delivered", 0)]
            done = until(
                lambda: (
                    (
                        a := http.get(
                            f"{api}/api/v1/applications/{application}", headers=auth
                        ).json()
                    )["status"]
                    == "completed"
                    and a
                )
            )
            callbacks = http.get(f"{gateway_process}/_admin/callbacks").json()["callbacks"]
        taken = {
            c["payload"]["application_id"]
            for c in callbacks
            if c["payload"]["idempotency_key"] == application
        }
        assert len(taken) == 1  # one application at the gateway, sent twice
        assert [h["status"] for h in done["history"]].count("completed") == 1
    finally:
        kill_all(backend, signal.SIGTERM)
