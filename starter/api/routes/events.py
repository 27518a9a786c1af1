"""`POST /v1/events`: what customers did, stored first, then routed to the journeys that care."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from activities.store.events import IdempotencyKeyReused
from starter.api.deps import EVENTS_KEY, ServicesDep
from starter.api.responses import MALFORMED_BODY
from starter.api.schemas import ErrorOut, EventAccepted, EventIn, RoutingState
from starter.routing.intake import STORE_RETRY_SECONDS, EventNotStored, IncomingEvent
from starter.routing.limits import PayloadTooLarge

router = APIRouter(prefix="/v1/events", tags=["events"], dependencies=EVENTS_KEY)

RESPONSES: dict[int | str, dict[str, Any]] = {
    **MALFORMED_BODY,
    status.HTTP_409_CONFLICT: {
        "model": ErrorOut,
        "description": "The idempotency key was used before with a different event; nothing was stored.",
    },
    status.HTTP_413_CONTENT_TOO_LARGE: {
        "model": ErrorOut,
        "description": "The body is over OVERTURE_MAX_BODY_BYTES, or the properties over "
        "OVERTURE_MAX_EVENT_PROPERTIES_BYTES; nothing was stored.",
    },
    status.HTTP_503_SERVICE_UNAVAILABLE: {
        "model": ErrorOut,
        "description": "The database could not store the event; nothing was stored: send it again after "
        "`Retry-After` seconds.",
    },
}
"""The answers besides 202, 422 (malformed input, FastAPI's own model) and the key's 401/403
(added to every keyed router by the app)."""


@router.post("", status_code=status.HTTP_202_ACCEPTED, responses=RESPONSES)
async def post_event(body: EventIn, svc: ServicesDep) -> EventAccepted:
    """Store an event, then start or signal the journeys that care about it.

    Answers once the event is routed, or, if Temporal does not answer within
    OVERTURE_ROUTING_TIMEOUT, with `routing: pending`: the event is stored and is routed in the
    background as soon as Temporal is back; nothing needs to be sent again. A repeated
    `idempotency_key` (the same event again) returns the first answer without routing again;
    keys are the customer's own, and a key reused for a different event gets 409. An event
    Temporal could never carry gets 413 before it is stored.
    """
    try:
        accepted = await svc.intake.accept(
            IncomingEvent(
                customer_id=body.customer_id,
                name=body.name,
                properties=body.properties,
                occurred_at=body.occurred_at,
                idempotency_key=body.idempotency_key,
            )
        )
    except PayloadTooLarge as refusal:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(refusal)) from None
    except IdempotencyKeyReused as refusal:
        raise HTTPException(status.HTTP_409_CONFLICT, str(refusal)) from None
    except EventNotStored as failure:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, str(failure), headers={"Retry-After": str(STORE_RETRY_SECONDS)}
        ) from None
    event = accepted.event
    routing: RoutingState = "pending" if accepted.pending else ("refused" if event.routing_error else "routed")
    return EventAccepted(
        event_id=event.id, started=event.started or [], signalled=event.signalled or [], routing=routing
    )
