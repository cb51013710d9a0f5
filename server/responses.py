"""JSON answers serialised with orjson: several times faster than the standard library
encoder Sanic uses when asked not to escape non-ASCII text, and UTF-8 as the contract says."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from sanic.response import HTTPResponse, raw


def fast_json(
    body: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> HTTPResponse:
    return raw(
        orjson.dumps(body),
        status=status,
        headers=dict(headers or {}),
        content_type="application/json",
    )
