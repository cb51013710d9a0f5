"""Where deliveries to the gateway wait.

port.py      `DeliveryRecords` (the delivery loop's) and `DeskRecords` (ops'), and what a
             delivery and an entry are
orm.py       both through tortoise: the delivery loop's on SQLite, ops' everywhere
postgres.py  the delivery loop's on PostgreSQL, one written-out statement per operation
"""
