"""Uploads against `python -m server serve` on a real socket: Sanic's own HTTP server, where
REQUEST_MAX_SIZE (1 MiB, for JSON) must not apply to uploads and the 5 MiB limit must, for a
declared length and for a chunked body alike."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests import upload_samples as samples
from tests.auth_helpers import ZHANG
from tests.e2e.conftest import ROOT, free_port, stop, wait_until_up

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory, mock_gateway_process):
    tmp = tmp_path_factory.mktemp("uploads-e2e")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "PORT": str(port),
        "DATABASE_URL": f"sqlite://{tmp / 'e2e.sqlite3'}",
        "KEYS_DIR": str(tmp / "keys"),
        "UPLOADS_DIR": str(tmp / "uploads"),
        "GATEWAY_URL": mock_gateway_process["url"],
        "GATEWAY_APP_KEY": mock_gateway_process["app_key"],
        "GATEWAY_APP_SECRET": mock_gateway_process["secret"],
    }
    run = [sys.executable, "-m", "server"]
    subprocess.run([*run, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    with (tmp / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [*run, "serve"], cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url + "/healthz", process)
            yield {"url": url, "port": port, "uploads": tmp / "uploads"}
        finally:
            stop(process)


@pytest.fixture(scope="module")
def access_token(server, mock_gateway_process):
    identity = httpx.post(
        mock_gateway_process["url"] + "/idp/token",
        json={"id_number": ZHANG[0], "name": ZHANG[1], "assurance": "face"},
    ).json()["identity_token"]
    login = httpx.post(server["url"] + "/api/v1/auth/login", json={"identity_token": identity})
    assert login.status_code == 200, login.text
    return login.json()["access_token"]


def stored(server) -> list[Path]:
    return [p for p in server["uploads"].rglob("*") if p.is_file()]


def exchange(port: int, head: bytes, chunks=()) -> tuple[int, dict]:
    """Sends `head`, then `chunks` until the server answers; returns its status and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(head)
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        return _response(sock)


def _response(sock: socket.socket) -> tuple[int, dict]:
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        assert more, f"connection closed before a response: {data!r}"
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), json.loads(body)


def _head(token: str, length_header: bytes) -> bytes:
    return (
        b"POST /api/v1/uploads HTTP/1.1\r\nHost: lingpao\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\n"
        b"Content-Type: multipart/form-data; boundary=XyZ\r\n" + length_header + b"\r\n"
    )


def test_a_2_mib_png_is_accepted_though_json_bodies_stop_at_1_mib(server, access_token):
    response = httpx.post(
        server["url"] + "/api/v1/uploads",
        files={"file": ("big.png", samples.noise_png(900, 800), "image/png")},
        data={"kind": "photo"},
        headers={"authorization": f"Bearer {access_token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.json()["size"] > 2 * MIB
    assert len(stored(server)) == 1


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(server, access_token):
    before = stored(server)
    status, body = exchange(server["port"], _head(access_token, b"Content-Length: 6291456\r\n"))
    assert (status, body["error"]["code"]) == (413, "upload_too_large")
    assert stored(server) == before


def _chunked(total: int, part: bytes):
    yield (
        b'--XyZ\r\nContent-Disposition: form-data; name="kind"\r\n\r\nphoto\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="' + part + b'"; filename="a"\r\n\r\n'
    )
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, bytes(64 * 1024))
    for _ in range(total // (64 * 1024)):
        yield chunk


@pytest.mark.parametrize("part", [b"file", b"padding"])
def test_a_chunked_body_over_the_limit_is_cut_off(server, access_token, part):
    # In the file, the spool stops it; in a part nobody reads, the body's own limit does.
    before = stored(server)
    head = _head(access_token, b"Transfer-Encoding: chunked\r\n")
    # The first chunk carries the form's opening; it is framed like the rest.
    chunks = _chunked(7 * MIB, part)
    opening = next(chunks)
    framed_opening = b"%x\r\n%s\r\n" % (len(opening), opening)
    status, body = exchange(server["port"], head + framed_opening, chunks)
    assert (status, body["error"]["code"]) == (413, "upload_too_large")
    assert stored(server) == before
