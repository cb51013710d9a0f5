"""Database lifecycle: the tortoise configuration, migrations and a liveness probe."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import cast
from urllib.parse import urlsplit, urlunsplit

from tortoise import Tortoise, connections
from tortoise.backends.asyncpg import AsyncpgDBClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as _migrate
from tortoise.transactions import in_transaction

APP_LABEL = "lingpao"
MODEL_MODULES = ["store.models", "auth.models"]


def tortoise_config(database_url: str, timeout_seconds: float | None = None) -> dict:
    return {
        "connections": {"default": _connection(database_url, timeout_seconds)},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "migrations": "store.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def speaks_asyncpg(database_url: str) -> bool:
    """PostgreSQL through asyncpg (tortoise's driver for `postgres://`), whose `$n`
    statements the records' PostgreSQL classes write out."""
    return database_url.startswith(("postgres://", "postgresql://", "asyncpg://"))


def _connection(database_url: str, timeout_seconds: float | None) -> str | dict:
    """The URL, or for PostgreSQL with a timeout, its expanded form with every wait bounded:
    connecting, each statement on our side (asyncpg) and on the server's."""
    if timeout_seconds is None or not speaks_asyncpg(database_url):
        return database_url
    connection = expand_db_url(database_url)
    credentials = connection["credentials"]
    credentials["timeout"] = max(1, int(timeout_seconds))
    credentials["command_timeout"] = timeout_seconds
    credentials["server_settings"] = {"statement_timeout": str(int(timeout_seconds * 1000))}
    credentials["reset"] = keep_session
    if connection["engine"] == "tortoise.backends.asyncpg":
        connection["engine"] = "store.fair_pool"  # the pool's waits in order, bounded
    return connection


async def keep_session(connection: object) -> None:
    """What a PostgreSQL connection goes through on its way back to the pool: nothing more.

    asyncpg's default sends `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`, a
    round trip on every statement tortoise runs outside a transaction (~45 µs of CPU and a
    wait, issue 13). Lingpao never takes advisory locks, keeps cursors, listens or SETs on a
    pooled connection; an open transaction is still rolled back by asyncpg itself first.
    """


async def open_database(database_url: str, timeout_seconds: float | None = None) -> None:
    # The global fallback lets request tasks see the connections that a
    # before_server_start listener opened in another task.
    await Tortoise.init(
        config=tortoise_config(database_url, timeout_seconds), _enable_global_fallback=True
    )


async def close_database() -> None:
    await Tortoise.close_connections()


async def apply_migrations(database_url: str) -> None:
    await _migrate(config=tortoise_config(database_url))
    await Tortoise.close_connections()


def transaction() -> AbstractAsyncContextManager[object]:
    """A transaction the queries inside it join (tortoise carries it in a context var)."""
    return in_transaction()


def asyncpg_client() -> AsyncpgDBClient:
    """The connection, or the open transaction's, for the statements written out for
    PostgreSQL (`*/records/postgres.py`, picked by bootstrap only when `speaks_asyncpg`): asyncpg's
    client, whose `$n` placeholders they use."""
    return cast(AsyncpgDBClient, connections.get("default"))


async def ping_database() -> None:
    await connections.get("default").execute_query("SELECT 1")


async def create_database_if_missing(database_url: str) -> bool:
    """PostgreSQL: creates the database the URL names unless it exists; whether it did."""
    import asyncpg

    url = database_url.replace("postgres://", "postgresql://", 1)
    try:
        conn = await asyncpg.connect(url, timeout=5)
    except asyncpg.InvalidCatalogNameError:
        parts = urlsplit(url)
        name = parts.path.lstrip("/").replace('"', '""')
        admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")), timeout=5)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        return True
    await conn.close()
    return False
