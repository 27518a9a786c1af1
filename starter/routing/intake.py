"""Event intake: store the event, then route it exactly once per idempotency key."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from activities.store.customers import CustomerStore
from activities.store.database import present
from activities.store.events import EventLog
from activities.store.tables import Event, utc
from starter.routing.router import EventRouter
from workflows.types import JourneyEvent

logger = structlog.get_logger(__name__)
CLAIM_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class IncomingEvent:
    """An event as a product system sent it, validated by the caller (API or import)."""

    customer_id: str
    name: str
    properties: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    idempotency_key: str | None = None


class RoutingUnavailable(Exception):
    """The event is stored but could not be routed (Temporal unreachable); resending it with the
    same idempotency key finishes the job."""

    def __init__(self, event_id: str, reason: str) -> None:
        super().__init__(reason)
        self.event_id = event_id


class EventIntake:
    """What `POST /v1/events` does: nothing lost (stored before routing), nothing doubled (one
    routing per idempotency key, even for concurrent repeats; the first answer is kept)."""

    def __init__(self, events: EventLog, customers: CustomerStore, router: EventRouter) -> None:
        self._events = events
        self._customers = customers
        self._router = router

    async def accept(self, incoming: IncomingEvent) -> Event:
        """Store and route the event; returns the stored row with its routing answer."""
        event = await self._events.record(
            customer_id=incoming.customer_id,
            name=incoming.name,
            properties=incoming.properties,
            occurred_at=incoming.occurred_at,
            idempotency_key=incoming.idempotency_key,
        )
        while not event.routed:
            if await self._events.claim_routing(event.id):
                return await self._route(event)
            # A concurrent request with the same idempotency key is routing it: wait for its answer.
            await asyncio.sleep(CLAIM_POLL_SECONDS)
            event = present(await self._events.get(event.id), f"event {event.id}")
        return event

    async def _route(self, event: Event) -> Event:
        await self._customers.ensure(event.customer_id)
        journey_event = JourneyEvent(
            id=event.id, name=event.name, properties=event.properties, occurred_at=utc(event.occurred_at).isoformat()
        )
        try:
            routing = await self._router.route(event.customer_id, journey_event)
        except Exception as error:  # Temporal down or unreachable: keep the event, let a resend finish
            await self._events.release_routing(event.id)
            logger.exception("event.routing_failed", event_id=event.id, name=event.name)
            raise RoutingUnavailable(event.id, str(error)) from error
        stored = await self._events.mark_routed(event.id, routing.started, routing.signalled)
        logger.info(
            "event.routed", event_id=event.id, name=event.name, started=stored.started, signalled=stored.signalled
        )
        return stored
