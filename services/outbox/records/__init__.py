"""Where deliveries to the gateway wait.

port.py      `DeliveryRecords` (the delivery loop's) and `DeskRecords` (ops'), and what a
             delivery and an entry are
orm.py       both through tortoise: the delivery loop's on SQLite, ops' everywhere
postgres.py  the delivery loop's on PostgreSQL, one written-out statement per operation
"""

from services.outbox.records.orm import TortoiseDeliveryRecords, TortoiseDeskRecords
from services.outbox.records.port import (
    DEAD,
    DELIVERED,
    IN_FLIGHT,
    PENDING,
    Delivery,
    DeliveryRecords,
    DeskRecords,
    OutboxEntry,
    new_worker_id,
)
from services.outbox.records.postgres import PostgresDeliveryRecords

__all__ = [
    "DEAD",
    "DELIVERED",
    "IN_FLIGHT",
    "PENDING",
    "Delivery",
    "DeliveryRecords",
    "DeskRecords",
    "OutboxEntry",
    "PostgresDeliveryRecords",
    "TortoiseDeliveryRecords",
    "TortoiseDeskRecords",
    "new_worker_id",
]
