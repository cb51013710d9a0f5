"""Identifiers that come from outside: checked for shape before a database sees them."""

from __future__ import annotations

import uuid


def is_uuid(value: str) -> bool:
    """Whether `value` is a UUID: a lookup with anything else would be a database error."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
