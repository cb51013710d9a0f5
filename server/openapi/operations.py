"""What a route promises, declared beside its handler: `@documented(Operation(...))`.

An operation names its parameters with their constraints, its body model, its success
responses and the exceptions it raises on purpose; the error statuses and codes come from
those exceptions through the same table that answers them (`server.errors.STATUS`), and
the errors every route of a kind shares (auth, a JSON body, a dependency down) are added
by `auth` and `body`, so a route cannot forget them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from core import errors as e

F = TypeVar("F", bound=Callable[..., Any])
Auth = Literal["none", "user", "face", "ops", "own_session", "gateway"]


@dataclass(frozen=True)
class Param:
    name: str
    location: Literal["query", "header", "path"]
    schema: Mapping[str, Any]
    description: str = ""
    required: bool = False

    def as_dict(self) -> dict[str, Any]:
        doc = {
            "name": self.name,
            "in": self.location,
            "required": self.required or self.location == "path",
            "description": self.description,
            "schema": dict(self.schema),
        }
        if self.location == "query":
            # An empty value is read as no value at all: `?limit=` is the default page.
            doc["allowEmptyValue"] = True
        return doc


def query(name: str, schema: Mapping[str, Any], description: str = "") -> Param:
    return Param(name, "query", schema, description)


def header(name: str, schema: Mapping[str, Any], description: str, required: bool) -> Param:
    return Param(name, "header", schema, description, required)


def path(name: str, description: str, max_length: int = 128) -> Param:
    return Param(
        name, "path", {"type": "string", "minLength": 1, "maxLength": max_length}, description
    )


LIMIT = query(
    "limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "page size"
)
CURSOR = query(
    "cursor",
    {"type": "string"},
    "next_cursor of the previous page, exactly as given (opaque); empty or absent: the "
    "first page; a cursor we did not issue is 400 invalid_request",
)
PAGING = (LIMIT, CURSOR)


@dataclass(frozen=True)
class Success:
    """A success status: its body model (None: no body), headers and an example."""

    description: str
    model: type[BaseModel] | None = None
    media_type: str = "application/json"
    headers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    example: Any = None


@dataclass(frozen=True)
class Operation:
    operation_id: str
    summary: str
    tag: str
    responses: Mapping[int, Success]
    description: str = ""
    auth: Auth = "none"
    params: tuple[Param, ...] = ()
    body: type[BaseModel] | None = None
    body_schema: Mapping[str, Any] | None = None  # when the body is not a JSON model
    body_media_type: str = "application/json"
    body_example: Any = None
    errors: tuple[type[e.LingpaoError], ...] = ()
    # Extra (status, code) pairs raised by the framework rather than our exceptions.
    framework_errors: tuple[tuple[int, str], ...] = ()
    rate_limited: bool = False
    uses_dependencies: bool = True

    @property
    def has_body(self) -> bool:
        return self.body is not None or self.body_schema is not None


def documented(operation: Operation) -> Callable[[F], F]:
    """Attaches `operation` to a handler; put it above the route's guards."""

    def attach(handler: F) -> F:
        handler.__openapi__ = operation  # type: ignore[attr-defined]
        return handler

    return attach


# Pages served from files (Sanic's static routes run no handler of ours), by path.
STATIC_PAGES: dict[str, Operation] = {}


def static_page(path: str, operation: Operation) -> None:
    STATIC_PAGES[path] = operation


def undocumented(handler: F) -> F:
    """For the documentation's own routes: not part of the API."""
    handler.__openapi__ = None  # type: ignore[attr-defined]
    return handler


# What a route that calls the provincial gateway may meet there, in our words.
GATEWAY_ERRORS: tuple[type[e.LingpaoError], ...] = (
    e.GatewayUnavailable,
    e.GatewayTimeout,
    e.GatewayRejected,
    e.GatewayBadAnswer,
)
