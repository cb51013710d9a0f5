"""Running one round of a long-lived loop in a task of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def in_own_task(work: Awaitable[T]) -> T:
    """Awaits `work` in a new task, so context variables it leaves behind end with it.

    tortoise sets the task's current connection before it sends BEGIN and never resets it
    when BEGIN fails: a loop that meets a database outage there would go on using that dead
    connection for as long as it runs (seen: the outbox loop failing with InterfaceError
    after the database was back). Cancelling the caller cancels the round too.
    """
    return await asyncio.ensure_future(work)
