"""Where applications, their idempotency keys and callback nonces are kept.

port.py      the `ApplicationRecords` port: what each operation means, on any database
rows.py      how an `application` row reads, for every statement that selects one
orm.py       the port through tortoise, one transaction per write (SQLite)
postgres.py  the port on PostgreSQL, one written-out statement per operation
"""

from services.applications.records.orm import TortoiseApplicationRecords
from services.applications.records.port import (
    ApplicationRecords,
    CallbackTaken,
    KeyRecord,
    NewApplication,
)
from services.applications.records.postgres import PostgresApplicationRecords

__all__ = [
    "ApplicationRecords",
    "CallbackTaken",
    "KeyRecord",
    "NewApplication",
    "PostgresApplicationRecords",
    "TortoiseApplicationRecords",
]
