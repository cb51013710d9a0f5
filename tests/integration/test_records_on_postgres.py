"""The records' contract (tests/contract_records/) on PostgreSQL, where each atomic
write is one written-out statement; and what only PostgreSQL has: a key read that waits for
a filing still being written, the pool's order, a transaction left open on a connection."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from tortoise import connections

from server.bootstrap import records_for
from services.applications.records.postgres import (
    FILE_NEW,
    PostgresApplicationRecords,
    filing_parameters,
)
from store.db import apply_migrations, close_database, open_database
from store.fair_pool import FairPool
from tests.contract_records import contract
from tests.contract_records.backends import database_backend
from tests.contract_records.filings import new_application
from tests.contract_records.logins import MASKED, a_login

globals().update(contract())


@pytest.fixture
async def backend(pg_url):
    """The records as bootstrap picks them for this database: the written-out statements."""
    await apply_migrations(pg_url)
    await open_database(pg_url, 5)
    try:
        records = records_for(pg_url)
        assert isinstance(records.applications, PostgresApplicationRecords)
        yield database_backend("postgres", records)
    finally:
        await close_database()


async def test_the_server_waits_for_postgresql_connections_in_line(backend):
    # The fixture opens the database as the server does (with its timeout); the pool is
    # made at the first statement.
    client = connections.get("default")
    await client.execute_query("SELECT 1")
    assert isinstance(client._pool, FairPool)


async def test_a_key_read_after_a_refusal_waits_for_a_filing_of_it_still_being_written(
    backend, pg_url
):
    # A filing writes its key and application in one statement, unseen until it commits: a
    # racing filing that the checks refused must not answer its refusal while this one files.
    applications = backend.records.applications
    new = new_application(str(uuid.uuid4()))
    filing = filing_parameters(new, "k-7", "fp")
    first = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://", 1))
    try:
        writing = first.transaction()
        await writing.start()
        await first.execute(FILE_NEW, *filing)
        assert await applications.key(new.user_id, "k-7") is None  # a plain read: not yet
        reader = asyncio.create_task(applications.key_once_written(new.user_id, "k-7"))
        await asyncio.sleep(0.3)
        assert not reader.done()  # waiting behind the filing being written
        await writing.commit()
        found = await asyncio.wait_for(reader, 5)
        assert found is not None and found.application_id == new.id
    finally:
        await first.close()
    # The wait left nothing behind, and without a writer it does not wait.
    assert await applications.key_once_written(new.user_id, "k-8") is None
    assert await applications.key(new.user_id, "k-8") is None


async def test_a_first_login_that_meets_an_account_being_made_logs_in_to_it_once_written(
    backend, pg_url
):
    # Another first login of the same person (or ops, at once disabling it) is writing the
    # account: this login's insert waits on the hash's unique index, then takes that account,
    # as it is by then: disabled, so no session.
    id_hash = uuid.uuid4().hex
    draft = a_login(uuid.uuid4().hex, id_hashes=(id_hash,))
    other = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://", 1))
    try:
        writing = other.transaction()
        await writing.start()
        await other.execute(
            "INSERT INTO app_user (id, id_hash, id_encrypted, id_masked, name, roles, disabled,"
            " assurance, created_at) VALUES ($1, $2, 'sealed', $3, '张三', '[\"citizen\"]'::jsonb,"
            " true, 'sms', now())",
            uuid.uuid4(),
            id_hash,
            MASKED,
        )
        login = asyncio.create_task(backend.records.logins.record_login(draft))
        await asyncio.sleep(0.3)
        assert not login.done()  # waiting behind the account being made
        await writing.commit()
        done = await asyncio.wait_for(login, 5)
    finally:
        await other.close()
    assert done.first_use and done.family is None
    assert done.account is not None and done.account.disabled
    assert await backend.inspect.accounts_with([id_hash]) == 1
    assert await backend.inspect.audit_lines(request_id=draft.request_id) == []


async def test_a_transaction_left_open_on_a_pooled_connection_is_rolled_back(pg_url):
    # The pool skips asyncpg's reset query (store.db.keep_session); asyncpg still ends an
    # open transaction before the connection serves anyone else.
    await apply_migrations(pg_url)
    await open_database(pg_url, 5)
    try:
        client = connections.get("default")
        marker = uuid.uuid4().hex
        async with client.acquire_connection() as raw:
            await raw.execute("BEGIN")
            await raw.execute(
                "INSERT INTO used_identity_token (jti, expires_at) VALUES ($1, now())", marker
            )
            # given back with the transaction open, as a cancelled request would leave it
        async with client.acquire_connection() as raw:
            assert not raw.is_in_transaction()
            count = "SELECT count(*) FROM used_identity_token WHERE jti = $1"
            assert await raw.fetchval(count, marker) == 0
    finally:
        await close_database()
