"""Applications (办件): filed once from the phone, delivered through the outbox.

rules.py    statuses, the body's fingerprint, the materials check (no I/O)
records/    the `ApplicationRecords` port, and one complete version per database
service.py  `Applications`: file, read, and accept the gateway's callbacks
"""

from services.applications.records import (
    ApplicationRecords,
    PostgresApplicationRecords,
    TortoiseApplicationRecords,
)
from services.applications.rules import ApplicationView
from services.applications.service import Applications, CallbackAuth, Filed, Filing

__all__ = [
    "ApplicationRecords",
    "ApplicationView",
    "Applications",
    "CallbackAuth",
    "Filed",
    "Filing",
    "PostgresApplicationRecords",
    "TortoiseApplicationRecords",
]
