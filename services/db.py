"""Database lifecycle: the tortoise configuration, migrations and a liveness probe."""

from __future__ import annotations

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as _migrate

APP_LABEL = "lingpao"
MODEL_MODULES = ["services.models", "auth.models"]


def tortoise_config(database_url: str) -> dict:
    return {
        "connections": {"default": database_url},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "migrations": "services.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def open_database(database_url: str) -> None:
    # The global fallback lets request tasks see the connections that a
    # before_server_start listener opened in another task.
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


async def apply_migrations(database_url: str) -> None:
    await _migrate(config=tortoise_config(database_url))
    await Tortoise.close_connections()


async def ping_database() -> None:
    await connections.get("default").execute_query("SELECT 1")
