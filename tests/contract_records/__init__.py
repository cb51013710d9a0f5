"""The records' contract: every atomic write (a login, a filing, a callback, a delivery's
claim and marks, an audit line) means the same on each implementation.

logins.py      the audit writer; a login
filings.py     a filing, its key, reading applications back; a callback
deliveries.py  the delivery loop's claims and marks

Each test takes a `backend` fixture (backends.py): test_on_fakes_and_sqlite.py runs them
on the fakes and on SQLite (the ORM's records), tests/integration/test_records_on_postgres.py
on PostgreSQL (the written-out statements). Tortoise's per-dialect state must not cross
from one suite's process to the other's, hence two modules.
"""

from __future__ import annotations

from typing import Any


def contract() -> dict[str, Any]:
    """Every test of the contract, for a module that supplies `backend` to run them."""
    from tests.contract_records import deliveries, filings, logins

    return {
        name: test
        for module in (logins, filings, deliveries)
        for name, test in vars(module).items()
        if name.startswith("test_")
    }
