"""The records' contract (tests/contract_records/) on the fakes and on SQLite, where the
ORM's records are the implementation."""

from __future__ import annotations

import pytest

from server.bootstrap import records_for
from store.db import apply_migrations, close_database, open_database
from tests.contract_records import contract
from tests.contract_records.backends import database_backend, fake_backend

globals().update(contract())


@pytest.fixture(params=["fake", "sqlite"])
async def backend(request, tmp_path):
    if request.param == "fake":
        yield fake_backend()
        return
    url = f"sqlite://{tmp_path / 'records.sqlite3'}"
    await apply_migrations(url)
    await open_database(url)
    try:
        yield database_backend("sqlite", records_for(url))
    finally:
        await close_database()
