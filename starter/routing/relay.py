"""The relay: routes every stored event that its request could not route.

An event is stored before it is routed. When Temporal is down or slow, or the process that
stored an event died before routing it, the event waits in the log, unrouted; the relay claims
such events in batches, oldest first, routes them and records the answers in one transaction,
backing off while Temporal does not answer. Routing twice is harmless (journeys ignore an event
id they have seen), so the relay in each API process may run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from activities.store.events import EventLog
from starter.routing.intake import EventIntake

logger = structlog.get_logger(__name__)

BATCH = 200
IDLE_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 8.0


class RoutingRelay:
    """Background routing of stored-but-unrouted events, until routed or refused for good."""

    def __init__(self, events: EventLog, intake: EventIntake, *, idle_seconds: float = IDLE_SECONDS) -> None:
        self._events = events
        self._intake = intake
        self._idle_seconds = idle_seconds

    async def run(self) -> None:
        """Relay for ever (cancel the task to stop)."""
        backoff = self._idle_seconds
        while True:
            try:
                claimed, unrouted = await self.relay_once()
            except Exception:  # the database, most likely: keep trying, loudly
                logger.exception("relay.failed", retry_in=backoff)
                await asyncio.sleep(backoff)
                continue
            if claimed and unrouted == claimed:  # Temporal took none: back off while it is away
                logger.warning("relay.waiting_for_temporal", unrouted=unrouted, retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = self._idle_seconds  # it answers (perhaps slow to drain a backlog): no backing off
            if claimed < BATCH:
                await asyncio.sleep(self._idle_seconds)

    async def relay_once(self) -> tuple[int, int]:
        """Route one batch of unrouted events: how many were claimed, and how many of those
        Temporal did not take yet."""
        events = await self._events.claim_unrouted(BATCH)
        if not events:
            return 0, 0
        logger.info("relay.routing", events=len(events))
        return len(events), await self._intake.route_claimed(events)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the relay in the background for the duration of the block."""
        task = asyncio.create_task(self.run(), name="overture-relay")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
