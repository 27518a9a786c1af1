"""`POST /v1/events`: what customers did, stored first, then routed to the journeys that care."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from starter.api.deps import API_KEY, ServicesDep
from starter.api.schemas import EventAccepted, EventIn
from starter.routing.intake import IncomingEvent, RoutingUnavailable

router = APIRouter(prefix="/v1/events", tags=["events"], dependencies=API_KEY)


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def post_event(body: EventIn, svc: ServicesDep) -> EventAccepted:
    """Store an event, then start or signal the journeys that care about it.

    A repeated `idempotency_key` returns the first answer without routing again.
    """
    incoming = IncomingEvent(
        customer_id=body.customer_id,
        name=body.name,
        properties=body.properties,
        occurred_at=body.occurred_at,
        idempotency_key=body.idempotency_key,
    )
    try:
        event = await svc.intake.accept(incoming)
    except RoutingUnavailable as unavailable:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"event stored as {unavailable.event_id} but not routed yet ({unavailable}); "
            "send it again with the same idempotency_key to finish routing it",
        ) from unavailable
    return EventAccepted(event_id=event.id, started=event.started or [], signalled=event.signalled or [])
