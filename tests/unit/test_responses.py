"""The hot routes' responses put on the wire exactly what Sanic's own would."""

from __future__ import annotations

from sanic.response import HTTPResponse

from server.responses import answer, fast_json


def wire(response: HTTPResponse) -> list[tuple[bytes, bytes]]:
    return list(response.processed_headers)


def test_headers_are_encoded_as_sanic_encodes_them():
    headers = {"ETag": '"abc"', "Cache-Control": "no-cache", "X-Request-ID": "r-1"}
    ours = answer(b"{}", headers=headers)
    sanics = HTTPResponse(b"{}", headers=headers, content_type="application/json")
    assert wire(ours) == wire(sanics)
    assert (b"content-type", b"application/json") in wire(ours)


def test_a_header_value_carrying_a_line_break_cannot_start_a_header_of_its_own():
    forged = "x\r\nSet-Cookie: session=stolen\x00"
    ours = wire(answer(b"{}", headers={"X-Request-ID": forged}))
    sanics = wire(
        HTTPResponse(b"{}", headers={"X-Request-ID": forged}, content_type="application/json")
    )
    assert ours == sanics
    assert (b"X-Request-ID", b"xSet-Cookie: session=stolen") in ours


def test_a_not_modified_answer_names_no_content_type():
    names = [name for name, _ in wire(answer(b"", status=304, headers={"ETag": '"e"'}))]
    assert names == [b"ETag"]


def test_fast_json_writes_utf_8_not_escapes():
    assert fast_json({"name": "张三"}).body == '{"name":"张三"}'.encode()
