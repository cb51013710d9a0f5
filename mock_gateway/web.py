"""What the mock's routes and middleware share: the real gateway's error shape, and how it
reads a JSON request body."""

from __future__ import annotations

import orjson
from sanic.request import Request
from sanic.response import HTTPResponse, json


def error(status: int, code: str, message: str) -> HTTPResponse:
    # The real gateway's own error shape, not Lingpao's: the backend must translate it.
    return json({"error": code, "message": message}, status=status, ensure_ascii=False)


def json_object(request: Request) -> dict | None:
    """The body as a JSON object, or None for anything else: each route answers that its
    own way."""
    try:
        body = orjson.loads(request.body or b"null")
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None
