"""The transactional outbox: applications on their way to the gateway.

records/   where deliveries wait: the ports, and one complete version per database
worker.py  `OutboxWorker`: the delivery loop, its retries and its shutdown
desk.py    `OutboxDesk`: what ops see and requeue
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
)
from services.outbox.records.postgres import PostgresDeliveryRecords
from services.outbox.worker import OutboxWorker

__all__ = [
    "DEAD",
    "DELIVERED",
    "IN_FLIGHT",
    "PENDING",
    "Delivery",
    "DeliveryRecords",
    "DeskRecords",
    "OutboxEntry",
    "OutboxWorker",
    "PostgresDeliveryRecords",
    "TortoiseDeliveryRecords",
    "TortoiseDeskRecords",
]
