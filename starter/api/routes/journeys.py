"""`/v1/journeys`: the registered journeys, and entering a customer into one directly."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from starter.api.deps import API_KEY, ServicesDep
from starter.api.responses import MALFORMED_BODY, error, not_found
from starter.api.schemas import EntryCreated, EntryIn, ErrorOut, JourneyOut
from starter.routing.limits import PayloadTooLarge, check_payload_size
from starter.routing.router import EntryRefused

router = APIRouter(prefix="/v1/journeys", tags=["journeys"], dependencies=API_KEY)


@router.get("")
async def get_journeys(svc: ServicesDep) -> list[JourneyOut]:
    """Registered journeys with their trigger, listened events and re-entry rule."""
    return [JourneyOut.of(spec) for spec in svc.registry.specs]


@router.post(
    "/{journey}/entries",
    status_code=status.HTTP_201_CREATED,
    responses={
        **MALFORMED_BODY,
        **not_found("No journey of that name is registered"),
        status.HTTP_409_CONFLICT: error("The journey refused the entry (e.g. it is already running for this key)"),
        status.HTTP_413_CONTENT_TOO_LARGE: {
            "model": ErrorOut,
            "description": "`data` is over OVERTURE_MAX_EVENT_PROPERTIES_BYTES (or the body over "
            "OVERTURE_MAX_BODY_BYTES); no journey was started.",
        },
    },
)
async def post_entry(journey: str, body: EntryIn, svc: ServicesDep) -> EntryCreated:
    """Enter a customer into a journey (404 unknown journey, 409 refused by its re-entry rule,
    413 `data` too large for Temporal to carry)."""
    try:
        check_payload_size(body.data, svc.settings.max_event_properties_bytes, "entry data")
    except PayloadTooLarge as refusal:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(refusal)) from None
    cls = svc.registry.get(journey)
    if cls is None:
        known = ", ".join(spec.name for spec in svc.registry.specs)
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown journey {journey!r}; registered: {known}")
    await svc.stores.customers.ensure(body.customer_id)
    try:
        workflow_id = await svc.router.enter(cls.spec, body.customer_id, body.data, body.key)
    except EntryRefused as refused:
        raise HTTPException(status.HTTP_409_CONFLICT, str(refused)) from refused
    return EntryCreated(workflow_id=workflow_id)
