"""Reading a streamed multipart upload: the file part into a spool, `kind` into a string.

Routes that read their own body are Sanic streaming routes, which Sanic exempts from
REQUEST_MAX_SIZE (and `server.app` from its Content-Length check), so the limit is kept
here, once for both ways the app is served:

- the declared Content-Length, before a byte of the body is read;
- the bytes actually received, counted as they arrive, so a client that lies about its
  length, or sends chunks with none, is cut off all the same (under ASGI nothing else
  counts them); on Sanic's own server the stream's limit is set too, which also makes Sanic
  drop the connection instead of reading the rest;
- the file part alone, in the spool, at exactly the configured size.

Nothing the client says about the file (its name, its Content-Type) is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, cast

from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from streaming_form_data import StreamingFormDataParser
from streaming_form_data.parser import ParseFailedException
from streaming_form_data.targets import BaseTarget

from core.errors import InvalidRequest, UnsupportedMediaType, UploadTooLarge
from services.uploads import Spool

# Room for the boundaries, the part headers and the `kind` field around the file.
FORM_OVERHEAD_BYTES = 64 * 1024
KIND_MAX_BYTES = 32


class _BodyStream(Protocol):
    request_max_size: int | float

    def __aiter__(self) -> AsyncIterator[bytes]: ...


class _SpoolTarget(BaseTarget):
    def __init__(self, spool: Spool) -> None:
        super().__init__()
        self.spool = spool
        self.finished = False

    def on_start(self) -> None:
        self.spool.begin()

    def on_data_received(self, chunk: bytes) -> None:
        self.spool.write(chunk)

    def on_finish(self) -> None:
        self.finished = True


class _SmallValue(BaseTarget):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.value = bytearray()
        self.seen = False

    def on_start(self) -> None:
        self.seen = True

    def on_data_received(self, chunk: bytes) -> None:
        if len(self.value) + len(chunk) > self.limit:
            raise InvalidRequest(fields=[{"field": "kind", "problem": "too long"}])
        self.value += chunk


async def read_upload_form(request: Request, spool: Spool) -> str | None:
    """Streams the body into `spool`; returns the `kind` field, None when absent."""
    body_limit = spool.limit + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise UploadTooLarge(reason="declared_length")
    parser = _parser(request)
    file, kind = _SpoolTarget(spool), _SmallValue(KIND_MAX_BYTES)
    parser.register("file", file)
    parser.register("kind", kind)
    await _feed(request, parser, body_limit)
    if spool.received and not file.finished:
        raise InvalidRequest("上传不完整 The upload was cut short", reason="multipart_truncated")
    return kind.value.decode("utf-8", "replace") if kind.seen else None


def _parser(request: Request) -> StreamingFormDataParser:
    try:
        return StreamingFormDataParser(
            headers={"Content-Type": request.headers.get("content-type", "")}
        )
    except ParseFailedException as exc:
        raise UnsupportedMediaType(
            "上传须为 multipart/form-data Uploads must be multipart/form-data"
        ) from exc


async def _feed(request: Request, parser: StreamingFormDataParser, body_limit: int) -> None:
    if request.stream is None:  # no body at all: the form is simply empty
        return
    stream = cast(_BodyStream, request.stream)
    stream.request_max_size = body_limit
    received = 0
    try:
        async for chunk in stream:
            received += len(chunk)
            if received > body_limit:
                raise UploadTooLarge(reason="streamed_length")
            parser.data_received(chunk)
    except PayloadTooLarge as exc:
        raise UploadTooLarge(reason="server_limit") from exc
    except ParseFailedException as exc:
        raise InvalidRequest(
            "multipart 请求体格式错误 Malformed multipart body", reason="multipart_malformed"
        ) from exc
