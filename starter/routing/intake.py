"""Event intake: store the event in one transaction, then route it exactly once.

The request that stores an event routes it at once, within `routing_timeout`. If Temporal is down
or slow, the event stays stored and unrouted and the answer says `pending`; the relay
(`starter.routing.relay`) routes it as soon as Temporal answers, without the client sending it
again. A repeat of an idempotency key gets the first answer, or routes the event itself if
nobody is routing it any more; a key reused for another event is refused. What Temporal could
never carry (properties over the limit) is refused before it is stored, and a Temporal refusal
no retry can change is recorded as the event's answer (`refused`) instead of being retried.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.exc import InterfaceError, OperationalError
from temporalio.service import RPCError

from activities.store.database import present
from activities.store.events import ROUTING_LEASE, EventLog, RoutingAnswer
from activities.store.tables import Event, utc
from starter.routing.limits import check_payload_size, refused_for_good
from starter.routing.router import EventRouter
from workflows.types import JourneyEvent

logger = structlog.get_logger(__name__)
CLAIM_POLL_SECONDS = 0.05


STORE_RETRY_SECONDS = 2
"""What a client is told to wait before sending again an event the database could not store."""


class EventNotStored(Exception):
    """The database could not store the event (down, locked, unreachable): nothing was stored,
    and sending it again later is safe."""


@dataclass(frozen=True)
class IncomingEvent:
    """An event as a product system sent it, validated by the caller (API or import)."""

    customer_id: str
    name: str
    properties: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Accepted:
    """A stored event and where it went; `pending` while the relay still has to route it."""

    event: Event
    pending: bool


class EventIntake:
    """What `POST /v1/events` does: nothing lost (stored before routing), nothing doubled (one
    routing per event, even for concurrent repeats of its idempotency key; the first answer is
    kept), nothing waiting on the client (the relay routes what a request could not)."""

    def __init__(
        self, events: EventLog, router: EventRouter, routing_timeout: float, max_properties_bytes: int
    ) -> None:
        self._events = events
        self._router = router
        self.routing_timeout = routing_timeout
        self.max_properties_bytes = max_properties_bytes

    async def accept(self, incoming: IncomingEvent) -> Accepted:
        """Store and route the event; `pending` if Temporal did not answer in time.

        PayloadTooLarge (nothing stored) for properties Temporal could never carry;
        IdempotencyKeyReused (nothing stored) for a key used before with another event;
        EventNotStored when the database could not store it.
        """
        check_payload_size(incoming.properties, self.max_properties_bytes, "event properties")
        cared_about = self._router.cares_about(incoming.name)
        try:
            event, fresh = await self._events.record(
                customer_id=incoming.customer_id,
                name=incoming.name,
                properties=incoming.properties,
                occurred_at=incoming.occurred_at,
                idempotency_key=incoming.idempotency_key,
                routed=not cared_about,
            )
        except (OperationalError, InterfaceError, OSError) as error:  # one transaction: nothing written
            logger.error("event.not_stored", name=incoming.name, reason=type(error).__name__)
            raise EventNotStored(
                f"the database could not store the event ({type(error).__name__}); nothing was stored: "
                f"send it again in {STORE_RETRY_SECONDS} s"
            ) from error
        if fresh and not cared_about:
            return Accepted(event, pending=False)
        if fresh:
            return await self._route_claimed(event, again=False)
        return await self._answer_repeat(event)

    async def route_claimed(self, events: list[Event]) -> int:
        """Route events the relay claimed (each maybe routed in part before), recording the
        answers in one transaction; those Temporal did not take are released for later. Returns
        how many it did not take."""
        answers = await asyncio.gather(*(self._attempt(event, again=True) for event in events))
        await self._events.mark_routed([answer for answer in answers if answer is not None])
        failed = [event.id for event, answer in zip(events, answers, strict=True) if answer is None]
        await self._events.release_routing(failed)
        return len(failed)

    async def _answer_repeat(self, event: Event) -> Accepted:
        # Someone else stored it: wait for their answer, or take over a claim whose holder died.
        deadline = asyncio.get_running_loop().time() + self.routing_timeout + ROUTING_LEASE.total_seconds()
        while not event.routed:
            if await self._events.claim_routing(event.id):
                return await self._route_claimed(event, again=True)
            if asyncio.get_running_loop().time() > deadline:
                return Accepted(event, pending=True)
            await asyncio.sleep(CLAIM_POLL_SECONDS)
            event = present(await self._events.get(event.id), f"event {event.id}")
        return Accepted(event, pending=False)

    async def _route_claimed(self, event: Event, *, again: bool) -> Accepted:
        answer = await self._attempt(event, again=again)
        if answer is None:
            await self._events.release_routing([event.id])
            return Accepted(event, pending=True)
        await self._events.mark_routed([answer])
        event.started, event.signalled, event.routing_error = answer.started, answer.signalled, answer.error
        event.routing_claimed_at = None
        return Accepted(event, pending=False)

    async def _attempt(self, event: Event, *, again: bool) -> RoutingAnswer | None:
        """Route once within the timeout: the answer, or None when Temporal did not take it."""
        journey_event = JourneyEvent(
            id=event.id, name=event.name, properties=event.properties, occurred_at=utc(event.occurred_at).isoformat()
        )
        try:
            async with asyncio.timeout(self.routing_timeout):
                routing = await self._router.route(event.customer_id, journey_event, again=again)
        except RPCError as error:
            if refused_for_good(error):
                logger.error("event.refused", event_id=event.id, name=event.name, reason=error.message)
                return RoutingAnswer(event.id, [], [], error=f"Temporal refused the event: {error.message}")
            logger.warning("event.routing_deferred", event_id=event.id, name=event.name, reason=str(error))
            return None
        except Exception as error:  # Temporal down, slow or unreachable: the relay finishes the job
            unexpected = not isinstance(error, TimeoutError | ConnectionError)
            logger.warning(
                "event.routing_deferred", event_id=event.id, name=event.name, reason=repr(error), exc_info=unexpected
            )
            return None
        logger.info(
            "event.routed", event_id=event.id, name=event.name, started=routing.started, signalled=routing.signalled
        )
        return RoutingAnswer(event.id, routing.started, routing.signalled, routing.entries)
