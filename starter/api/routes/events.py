"""`POST /v1/events`: what customers did, stored first, then routed to the journeys that care."""

from __future__ import annotations

from fastapi import APIRouter, status

from starter.api.deps import EVENTS_KEY, ServicesDep
from starter.api.schemas import EventAccepted, EventIn, RoutingState
from starter.routing.intake import IncomingEvent

router = APIRouter(prefix="/v1/events", tags=["events"], dependencies=EVENTS_KEY)


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def post_event(body: EventIn, svc: ServicesDep) -> EventAccepted:
    """Store an event, then start or signal the journeys that care about it.

    Answers once the event is routed, or, if Temporal does not answer within
    OVERTURE_ROUTING_TIMEOUT, with `routing: pending`: the event is stored and is routed in the
    background as soon as Temporal is back; nothing needs to be sent again. A repeated
    `idempotency_key` returns the first answer without routing again.
    """
    accepted = await svc.intake.accept(
        IncomingEvent(
            customer_id=body.customer_id,
            name=body.name,
            properties=body.properties,
            occurred_at=body.occurred_at,
            idempotency_key=body.idempotency_key,
        )
    )
    event = accepted.event
    routing: RoutingState = "pending" if accepted.pending else ("refused" if event.routing_error else "routed")
    return EventAccepted(
        event_id=event.id, started=event.started or [], signalled=event.signalled or [], routing=routing
    )
