"""Values a request names, checked against the rules of the column they filter before any
query is built: tortoise refuses a value its field cannot hold (a string past its length,
a UUID column's non-UUID) with its own error, and a database an integer past its range
with another; either would reach the caller as a 500."""

from __future__ import annotations

from collections.abc import Mapping

from tortoise.exceptions import ValidationError
from tortoise.models import Model

from core.errors import InvalidRequest


def fits(model: type[Model], column: str, value: object) -> bool:
    """Whether `value` is one the column could hold, by its field's own rules."""
    field = model._meta.fields_map[column]
    try:
        field.validate(value)  # a string's length
        field.to_python_value(value)  # a UUID column: a UUID
    except (ValidationError, ValueError, TypeError):
        return False
    if isinstance(value, int) and not isinstance(value, bool):  # an integer column's range
        bounds = field.constraints
        return bool(bounds.get("ge", value) <= value <= bounds.get("le", value))
    return True


def check(model: type[Model], filters: Mapping[str, tuple[str, object]]) -> None:
    """Refuses, naming the parameter, any `{parameter: (column, value)}` whose value the
    column could not hold (None: not given)."""
    refused = [
        {"field": parameter, "problem": _rule(model, column)}
        for parameter, (column, value) in filters.items()
        if value is not None and not fits(model, column, value)
    ]
    if refused:
        raise InvalidRequest(fields=refused)


def _rule(model: type[Model], column: str) -> str:
    field = model._meta.fields_map[column]
    length = getattr(field, "max_length", None)
    if length:
        return f"at most {length} characters"
    bounds = field.constraints
    if "ge" in bounds and "le" in bounds:
        return f"an integer from {bounds['ge']} to {bounds['le']}"
    return f"not a {type(field).__name__.removesuffix('Field').lower()}"
