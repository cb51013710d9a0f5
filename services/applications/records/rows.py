"""How a row of the `application` table reads as an `ApplicationView`: for every records
class that selects applications (these, and the outbox's claim, which joins them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.applications.rules import ApplicationView
from services.times import parse_rfc3339
from store.models import Application

FIELDS = (
    "id",
    "user_id",
    "item_code",
    "status",
    "history",
    "materials",
    "form",
    "materials_verified",
    "gateway_application_id",
    "result_certificate_id",
    "created_at",
)
# The columns as a written-out statement selects them, from the table aliased `a`.
SELECTED = ", ".join(f"a.{name}" for name in FIELDS)
JSON = Application._meta.fields_map["history"]  # the model's own JSON encoding


def view_of(row: Mapping[str, Any]) -> ApplicationView:
    """The view of a row: a model's fields or a statement's columns (JSON as text)."""
    history = JSON.to_python_value(row["history"])
    return ApplicationView(
        id=str(row["id"]),
        user_id=row["user_id"],
        item_code=row["item_code"],
        status=row["status"],
        history=tuple((h["status"], parse_rfc3339(h["at"])) for h in history),
        created_at=row["created_at"],
        materials=JSON.to_python_value(row["materials"]),
        form=JSON.to_python_value(row["form"]),
        materials_verified=row["materials_verified"],
        gateway_application_id=row["gateway_application_id"],
        result_certificate_id=row["result_certificate_id"],
    )


def view(row: Application) -> ApplicationView:
    return view_of({name: getattr(row, name) for name in FIELDS})


def as_json(value: object) -> str:
    """A value as the model keeps it in a JSON column, for a statement's parameter."""
    return str(JSON.to_db_value(value, Application))
