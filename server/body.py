"""Reading a JSON request body into a validated model, with the contract's errors."""

from __future__ import annotations

from typing import Annotated, TypeVar

import orjson
from pydantic import AfterValidator, BaseModel, ValidationError
from sanic.request import Request

from core.errors import EmptyBody, InvalidRequest, MalformedJson, UnsupportedMediaType
from core.text import unsafe_characters

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


def refuse_unsafe(text: str) -> str:
    """A pydantic check for free text: no control or bidi-override characters."""
    found = unsafe_characters(text)
    if found:
        raise ValueError("contains control or bidi characters: " + ", ".join(found[:5]))
    return text


def refuse_unsafe_anywhere(value: object) -> object:
    """The same for every key and string inside a JSON value (an application's form)."""
    if isinstance(value, str):
        refuse_unsafe(value)
    elif isinstance(value, dict):
        for key, inner in value.items():
            refuse_unsafe(str(key))
            refuse_unsafe_anywhere(inner)
    elif isinstance(value, list):
        for inner in value:
            refuse_unsafe_anywhere(inner)
    return value


# Free text as the routes take it.
SafeText = Annotated[str, AfterValidator(refuse_unsafe)]
