"""Reading a JSON request body into a validated model, with the contract's errors."""

from __future__ import annotations

from typing import Annotated, TypeVar

import orjson
from pydantic import AfterValidator, BaseModel, Field, ValidationError
from sanic.request import Request

from core.errors import EmptyBody, InvalidRequest, MalformedJson, UnsupportedMediaType
from core.text import UNSAFE_CLASS, unsafe_characters

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


# A client's free-form JSON (an application's form) is a few fields, some in lists: these
# bounds are far above any real form and far below what costs time or a recursion limit.
MAX_JSON_DEPTH = 8
MAX_JSON_VALUES = 1000  # entries, counted across every level


def bounded_json(
    value: object,
    *,
    max_depth: int = MAX_JSON_DEPTH,
    max_values: int = MAX_JSON_VALUES,
) -> object:
    """`value` unchanged, when it nests no deeper than `max_depth` containers, holds at most
    `max_values` entries in all (members of objects and items of arrays, at every level),
    and no key or string has control or bidi characters. Walked without recursion: a body
    nested 1,000 deep is refused, not a 500."""
    pending: list[tuple[object, int]] = [(value, 0)]
    seen = 0
    while pending:
        current, depth = pending.pop()
        if isinstance(current, str):
            refuse_unsafe(current)
        elif isinstance(current, dict | list):
            if depth >= max_depth:
                raise ValueError(f"nested deeper than {max_depth} levels")
            seen += len(current)
            if seen > max_values:
                raise ValueError(f"more than {max_values} keys and values")
            if isinstance(current, dict):
                for key in current:
                    refuse_unsafe(str(key))
                pending.extend((inner, depth + 1) for inner in current.values())
            else:
                pending.extend((inner, depth + 1) for inner in current)
    return value


SAFE_PATTERN = "^[^" + UNSAFE_CLASS + "]*$"
# Free text as the routes take it; the document says which characters are refused.
SafeText = Annotated[
    str,
    AfterValidator(refuse_unsafe),
    Field(json_schema_extra={"pattern": SAFE_PATTERN}),
]
