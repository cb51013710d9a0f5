"""Search, filters and cursor pagination over item views (the catalog is small enough to
filter in memory once per catalog version; the database is asked once, not per query)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TypeVar

from core.errors import InvalidRequest
from core.numbers import plain_int
from services.catalog.rules import MODES

T = TypeVar("T")


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> str:
    try:
        value = base64.b64decode(
            cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True
        ).decode()
        if not value or encode_cursor(value) != cursor:
            raise ValueError("not a cursor we issued")
        return value
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_cursor() from exc


def decode_id_cursor(cursor: str | None) -> int | None:
    """A cursor over rows ordered by a numeric id (the audit log); None for the first page."""
    if not cursor:
        return None
    value = plain_int(decode_cursor(cursor))
    if value is None:
        raise bad_cursor()
    return value


def bad_cursor() -> InvalidRequest:
    return InvalidRequest(
        "cursor 无效 Invalid cursor", fields=[{"field": "cursor", "problem": "not a cursor"}]
    )


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return 20
    limit = plain_int(raw, maximum=100)
    if limit is None or limit < 1:
        raise InvalidRequest(
            "limit 须为 1 到 100 的整数 limit must be 1..100",
            fields=[{"field": "limit", "problem": "must be 1..100"}],
        )
    return limit


def check_mode_filter(mode: str | None) -> None:
    if mode and mode not in MODES:
        raise InvalidRequest(
            "未知的办理方式 Unknown mode", fields=[{"field": "mode", "problem": "unknown mode"}]
        )


MAX_QUERY_LENGTH = 100
MAX_CATEGORY_LENGTH = 64


def search(items: Sequence, q: str | None, category: str | None, mode: str | None) -> list:
    check_mode_filter(mode)
    for name, value, most in (
        ("q", q, MAX_QUERY_LENGTH),
        ("category", category, MAX_CATEGORY_LENGTH),
    ):
        if value and len(value) > most:
            raise InvalidRequest(fields=[{"field": name, "problem": f"at most {most} characters"}])
    needle = (q or "").strip().lower()
    return [
        i
        for i in items
        if (not needle or needle in i.name.lower() or needle in i.department.lower())
        and (not category or i.category == category)
        and (not mode or i.mode == mode)
    ]


def page(
    items: Sequence[T], key: Callable[[T], str], cursor: str | None, limit: int
) -> tuple[list[T], str | None]:
    """Items after the cursor's key, and the cursor of the next page (None at the end)."""
    after = decode_cursor(cursor) if cursor else None
    remaining = [i for i in items if after is None or key(i) > after]
    chosen = remaining[:limit]
    next_cursor = encode_cursor(key(chosen[-1])) if len(remaining) > limit else None
    return chosen, next_cursor
