"""The HTTP API (FastAPI): profiles and events in, journeys started, messages out.

OpenAPI docs at /docs. With OVERTURE_API_KEY set, every /v1 route wants `Authorization: Bearer <key>`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, status
from fastapi.responses import JSONResponse
from sqlalchemy import text

from starter import api_consent, api_webhooks
from starter.api_deps import REQUIRE_API_KEY, ServicesDep
from starter.intake import RoutingUnavailable
from starter.router import EntryRefused
from starter.schemas import (
    CustomerDetail,
    CustomerIn,
    CustomerOut,
    DeliveryOut,
    EntryCreated,
    EntryIn,
    EventAccepted,
    EventIn,
    InboxMessageOut,
    JourneyOut,
    SubscriptionOut,
)
from starter.services import Services
from starter.settings import Settings


def create_app(settings: Settings | None = None, prepared: Services | None = None) -> FastAPI:
    """The API app; give `prepared` services to share a client and database (tests, `overture dev`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = prepared or await Services.open(settings or Settings())
        try:
            yield
        finally:
            if prepared is None:
                await app.state.services.close()

    app = FastAPI(title="Overture", version="0.1.0", lifespan=lifespan)
    app.include_router(api_consent.router)
    app.include_router(api_webhooks.router)
    v1 = REQUIRE_API_KEY

    @app.get("/healthz", tags=["ops"])
    async def healthz(svc: ServicesDep) -> JSONResponse:
        """Liveness of the API and its two dependencies."""
        checks = {"database": "ok", "temporal": "ok"}
        try:
            async with svc.database.session() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        except Exception as error:
            checks["database"] = f"error: {error}"
        try:
            await svc.client.service_client.check_health()
        except Exception as error:
            checks["temporal"] = f"error: {error}"
        healthy = all(value == "ok" for value in checks.values())
        return JSONResponse({"status": "ok" if healthy else "unhealthy", **checks}, status_code=200 if healthy else 503)

    @app.put("/v1/customers/{customer_id}", dependencies=v1, tags=["customers"])
    async def put_customer(customer_id: str, body: CustomerIn, svc: ServicesDep) -> JSONResponse:
        """Create or update a profile; only the fields sent change."""
        _check_customer_id(customer_id)
        customer, created = await svc.customers.upsert(customer_id, body.model_dump(exclude_unset=True))
        payload = CustomerOut.model_validate(customer).model_dump(mode="json")
        return JSONResponse(payload, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @app.get("/v1/customers/{customer_id}", dependencies=v1, tags=["customers"])
    async def get_customer(customer_id: str, svc: ServicesDep) -> CustomerDetail:
        """A profile with its running journeys and latest messages."""
        customer = await svc.customers.get(customer_id)
        if customer is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no customer {customer_id!r}")
        query = f"CustomerId = {_quote(customer_id)} AND ExecutionStatus = 'Running'"
        active = [execution.id async for execution in svc.client.list_workflows(query)]
        messages = [DeliveryOut.model_validate(row) for row in await svc.deliveries.for_customer(customer_id, limit=20)]
        subscriptions = [
            SubscriptionOut.model_validate(row) for row in await svc.subscriptions.for_customer(customer_id)
        ]
        return CustomerDetail(
            **CustomerOut.model_validate(customer).model_dump(),
            subscriptions=subscriptions,
            active_journeys=active,
            messages=messages,
        )

    @app.get("/v1/customers/{customer_id}/messages", dependencies=v1, tags=["customers"])
    async def get_messages(customer_id: str, svc: ServicesDep, limit: int = 100) -> list[DeliveryOut]:
        """The customer's deliveries (sent, skipped, failed), newest first."""
        return [
            DeliveryOut.model_validate(row)
            for row in await svc.deliveries.for_customer(customer_id, limit=min(limit, 1000))
        ]

    @app.get("/v1/customers/{customer_id}/inbox", dependencies=v1, tags=["inbox"])
    async def get_inbox(
        customer_id: str, svc: ServicesDep, unread_only: bool = False, limit: int = 50
    ) -> list[InboxMessageOut]:
        """The customer's in-app messages, newest first (for the product's app to show)."""
        rows = await svc.inbox.messages(customer_id, unread_only=unread_only, limit=min(limit, 500))
        return [InboxMessageOut.model_validate(row) for row in rows]

    @app.post("/v1/customers/{customer_id}/inbox/{message_id}/read", dependencies=v1, tags=["inbox"])
    async def mark_inbox_read(customer_id: str, message_id: int, svc: ServicesDep) -> InboxMessageOut:
        """Mark one in-app message read (again: no change)."""
        message = await svc.inbox.mark_read(customer_id, message_id)
        if message is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"customer {customer_id!r} has no message {message_id}")
        return InboxMessageOut.model_validate(message)

    @app.post("/v1/events", dependencies=v1, status_code=status.HTTP_202_ACCEPTED, tags=["events"])
    async def post_event(body: EventIn, svc: ServicesDep) -> EventAccepted:
        """Store an event, then start or signal the journeys that care about it.

        A repeated `idempotency_key` returns the first answer without routing again.
        """
        try:
            event = await svc.intake.accept(body)
        except RoutingUnavailable as unavailable:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"event stored as {unavailable.event_id} but not routed yet ({unavailable}); "
                "send it again with the same idempotency_key to finish routing it",
            ) from unavailable
        return EventAccepted(event_id=event.id, started=event.started or [], signalled=event.signalled or [])

    @app.post("/v1/journeys/{journey}/entries", dependencies=v1, status_code=status.HTTP_201_CREATED, tags=["journeys"])
    async def post_entry(journey: str, body: EntryIn, svc: ServicesDep) -> EntryCreated:
        """Enter a customer into a journey (404 unknown journey, 409 refused by its re-entry rule)."""
        cls = svc.registry.get(journey)
        if cls is None:
            known = ", ".join(spec.name for spec in svc.registry.specs)
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown journey {journey!r}; registered: {known}")
        await svc.customers.ensure(body.customer_id)
        try:
            workflow_id = await svc.router.enter(cls.spec, body.customer_id, body.data, body.key)
        except EntryRefused as refused:
            raise HTTPException(status.HTTP_409_CONFLICT, str(refused)) from refused
        return EntryCreated(workflow_id=workflow_id)

    @app.get("/v1/journeys", dependencies=v1, tags=["journeys"])
    async def get_journeys(svc: ServicesDep) -> list[JourneyOut]:
        """Registered journeys with their trigger, listened events and re-entry rule."""
        return [
            JourneyOut(
                name=spec.name,
                trigger=spec.trigger,
                events=sorted(spec.events),
                exit_on=sorted(spec.exit_on),
                goal=sorted(spec.goal),
                reentry=spec.reentry,
                key=spec.key,
                quiet_hours=f"{spec.quiet_hours.start}-{spec.quiet_hours.end}" if spec.quiet_hours else None,
            )
            for spec in svc.registry.specs
        ]

    return app


def _check_customer_id(customer_id: str) -> None:
    if not customer_id or len(customer_id) > 200 or any(char == "/" or char.isspace() for char in customer_id):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            [{"loc": ["path", "customer_id"], "msg": "1-200 characters, no '/' or spaces", "type": "value_error"}],
        )


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
