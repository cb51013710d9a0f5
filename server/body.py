"""Reading a JSON request body into a validated model, with the contract's errors."""

from __future__ import annotations

from typing import TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from sanic.request import Request

from core.errors import EmptyBody, InvalidRequest, MalformedJson, UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)


def json_body(request: Request) -> object:
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if not request.body:
        raise EmptyBody()
    if content_type != "application/json":
        raise UnsupportedMediaType()
    try:
        return orjson.loads(request.body)
    except orjson.JSONDecodeError as exc:
        raise MalformedJson() from exc


def parse_body(request: Request, model: type[M]) -> M:
    data = json_body(request)
    if not isinstance(data, dict):
        raise InvalidRequest("请求体必须是 JSON 对象 Body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # loc and msg only: the offending input may be personal data.
        problems = [
            {"field": ".".join(str(p) for p in err["loc"]), "problem": err["msg"]}
            for err in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidRequest(fields=problems) from exc
