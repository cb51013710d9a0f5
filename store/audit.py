"""The one audit writer: every audit line goes through here, whoever writes it.

A line has one column list (`COLUMNS`) and one truncation rule (`AuditLine.cut`: each
text cut to its column, never refused). It is written three ways, all from here:

- `OrmAuditWriter` (SQLite): the model, inside whatever transaction the caller has open;
- `PostgresAuditWriter`: `insert()`'s statement alone, as tortoise spends ~150 µs building
  a model and its query;
- inside a bigger statement (a login, a filing): `insert(first, source=…)` is the same
  INSERT as one step of it, written only if that statement's `source` step wrote its row.

The log is append-only: there is deliberately no way here to change or remove a line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from core.clock import utc
from store.db import asyncpg_client
from store.models import AuditEntry

COLUMNS = (
    "at",
    "actor",
    "action",
    "target",
    "outcome",
    "reason",
    "actor_user_id",
    "subject_user_id",
    "request_id",
    "purpose",
    "before",
    "after",
)
_FIELDS = AuditEntry._meta.fields_map
# Each text column's length: a line is cut to them, never refused for a long value.
LIMITS = {
    name: _FIELDS[name].max_length  # type: ignore[attr-defined]
    for name in COLUMNS
    if getattr(_FIELDS[name], "max_length", None)
}
_SQL_TYPES = {"at": "timestamptz", "before": "jsonb", "after": "jsonb"}
_JSON = ("before", "after")


@dataclass(frozen=True)
class AuditLine:
    """One line as it will be kept."""

    actor: str
    action: str
    target: str
    outcome: str = "ok"
    reason: str = ""
    actor_user_id: str | None = None
    subject_user_id: str | None = None
    request_id: str = ""
    purpose: str = ""
    before: object = None
    after: object = None
    at: datetime = field(default_factory=utc)

    def cut(self) -> dict[str, object]:
        """Its columns, each text cut to the column's length."""
        return {name: self._cut(name) for name in COLUMNS}

    def parameters(self, skip: tuple[str, ...] = ()) -> list[object]:
        """Its columns as `insert()`'s parameters, in `COLUMNS` order, JSON as the model
        encodes it; `skip` the columns the statement computes itself."""
        values = []
        for name in COLUMNS:
            if name in skip:
                continue
            value = self._cut(name)
            if name in _JSON and value is not None:
                value = _FIELDS[name].to_db_value(value, AuditEntry)
            values.append(value)
        return values

    def _cut(self, name: str) -> object:
        # Read off the attributes: dataclasses.asdict deep-copies, ~20 µs a line.
        value = getattr(self, name)
        limit = LIMITS.get(name)
        return value[:limit] if limit and isinstance(value, str) else value


def insert(first: int = 1, *, source: str | None = None, computed: Mapping[str, str] = {}) -> str:  # noqa: B006 - read only
    """The INSERT of one line: each column a parameter, `$first` on in `COLUMNS` order, or
    the SQL expression `computed` gives for it; written once for each row of the step
    `source` of the statement it is part of (None: written once)."""
    values, n = [], first
    for name in COLUMNS:
        if name in computed:
            values.append(computed[name])
            continue
        values.append(f"${n}::{_SQL_TYPES.get(name, 'text')}")
        n += 1
    columns = ", ".join(COLUMNS)
    rows = f" FROM {source}" if source else ""
    return f"INSERT INTO audit_entry ({columns}) SELECT {', '.join(values)}{rows}"  # noqa: S608


_INSERT = insert()


class LineWriter(Protocol):
    """What a records class writes its change's audit line with, inside its transaction."""

    async def write(self, line: AuditLine) -> None: ...


class OrmAuditWriter:
    """The audit writer through the ORM: on SQLite, in the caller's open transaction."""

    async def __call__(self, **fields: object) -> None:
        await self.write(AuditLine(**fields))  # type: ignore[arg-type]

    async def write(self, line: AuditLine) -> None:
        await AuditEntry.create(**line.cut())  # type: ignore[arg-type]


class PostgresAuditWriter:
    """The audit writer as one written-out statement, in the caller's open transaction."""

    async def __call__(self, **fields: object) -> None:
        await self.write(AuditLine(**fields))  # type: ignore[arg-type]

    async def write(self, line: AuditLine) -> None:
        await asyncpg_client().execute_query(_INSERT, line.parameters())
