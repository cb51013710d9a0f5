"""Oversized headers and URIs on a real socket: 431 and 414, in the contract's envelope."""

from tests.e2e.test_uploads_over_sockets import exchange, server  # noqa: F401 - the fixture


def test_an_oversized_header_is_a_431_and_an_oversized_uri_a_414_in_the_envelope(server):  # noqa: F811
    huge_header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 20_000 + b"\r\n\r\n"
    status, body = exchange(server["port"], huge_header)
    assert status == 431 and body["error"]["code"] == "request_header_too_large"
    long_uri = b"GET /api/v1/items?q=" + b"a" * 9_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    status, body = exchange(server["port"], long_uri)
    assert status == 414 and body["error"]["code"] == "uri_too_long"
