"""The HTTP API (FastAPI): profiles and events in, journeys started, messages out.

OpenAPI docs at /docs. With OVERTURE_API_KEY set, every /v1 route wants `Authorization: Bearer <key>`.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text

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
    JourneyOut,
)
from starter.services import Services
from starter.settings import Settings

bearer = HTTPBearer(auto_error=False)


def services(request: Request) -> Services:
    """The process's services (set up by the app's lifespan)."""
    return request.app.state.services  # type: ignore[no-any-return]


def require_api_key(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """Check `Authorization: Bearer` against OVERTURE_API_KEY, when one is set."""
    expected = services(request).settings.api_key
    if expected is None:
        return
    if credentials is None or not hmac.compare_digest(credentials.credentials, expected.get_secret_value()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing or wrong API key", headers={"WWW-Authenticate": "Bearer"}
        )


ServicesDep = Annotated[Services, Depends(services)]


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
    v1 = [Depends(require_api_key)]

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
        return CustomerDetail(
            **CustomerOut.model_validate(customer).model_dump(), active_journeys=active, messages=messages
        )

    @app.get("/v1/customers/{customer_id}/messages", dependencies=v1, tags=["customers"])
    async def get_messages(customer_id: str, svc: ServicesDep, limit: int = 100) -> list[DeliveryOut]:
        """The customer's deliveries (sent, skipped, failed), newest first."""
        return [
            DeliveryOut.model_validate(row)
            for row in await svc.deliveries.for_customer(customer_id, limit=min(limit, 1000))
        ]

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
