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
from starter.routing.intake import EventIntake, RoutingUnavailable

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
                routed = await self.relay_once()
            except RoutingUnavailable as unavailable:
                # Some of the batch routed: Temporal is back (only slow to drain it), so no backing off.
                wait = self._idle_seconds if unavailable.routed else backoff
                logger.warning("relay.waiting_for_temporal", reason=str(unavailable), retry_in=wait)
                await asyncio.sleep(wait)
                backoff = self._idle_seconds if unavailable.routed else min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            except Exception:  # the database, most likely: keep trying, loudly
                logger.exception("relay.failed", retry_in=backoff)
                await asyncio.sleep(backoff)
                continue
            backoff = self._idle_seconds
            if routed < BATCH:
                await asyncio.sleep(self._idle_seconds)

    async def relay_once(self) -> int:
        """Route one batch of unrouted events; how many there were (RoutingUnavailable if some
        could not be routed yet)."""
        events = await self._events.claim_unrouted(BATCH)
        if events:
            logger.info("relay.routing", events=len(events))
            await self._intake.route_claimed(events)
        return len(events)

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
