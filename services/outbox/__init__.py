"""The transactional outbox: applications on their way to the gateway.

records.py      the `OutboxRecords` port and its tortoise version (claims with row locks)
on_postgres.py  the delivery loop's statements written out for PostgreSQL
worker.py       `OutboxWorker`: the delivery loop, its retries and its shutdown
"""

from services.outbox.records import (
    DEAD,
    DELIVERED,
    IN_FLIGHT,
    PENDING,
    Delivery,
    OutboxEntry,
    OutboxRecords,
    TortoiseOutboxRecords,
)
from services.outbox.worker import OutboxWorker

__all__ = [
    "DEAD",
    "DELIVERED",
    "IN_FLIGHT",
    "PENDING",
    "Delivery",
    "OutboxEntry",
    "OutboxRecords",
    "OutboxWorker",
    "TortoiseOutboxRecords",
]
