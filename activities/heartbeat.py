"""Heartbeats for activities that wait on the outside world (a provider's answer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from temporalio import activity

BEAT_EVERY = timedelta(seconds=2)


@asynccontextmanager
async def heartbeating(every: timedelta = BEAT_EVERY) -> AsyncIterator[None]:
    """Heartbeat in the background while the block runs: if the worker dies, Temporal retries
    the activity after the (short) heartbeat timeout instead of the whole start-to-close timeout."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(every.total_seconds())

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
