"""The HTTP API app: profiles and events in, journeys started, messages out.

OpenAPI docs at /docs. With OVERTURE_API_KEY set, every `/v1` resource wants
`Authorization: Bearer <key>`, except the links customers follow and providers' callbacks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from starter.api.errors import validation_failed
from starter.api.routes import customers, events, health, inbox, journeys, subscriptions, unsubscribe, webhooks
from starter.config.settings import Settings
from starter.runtime.services import Services

ROUTERS = (health, customers, subscriptions, inbox, events, journeys, unsubscribe, webhooks)


def create_app(settings: Settings | None = None, prepared: Services | None = None) -> FastAPI:
    """The API app; give `prepared` services to share a client and database (tests, `overture dev`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = app.state.services = prepared or await Services.open(settings or Settings.load())
        try:
            async with services.relay.running():
                yield
        finally:
            if prepared is None:
                await app.state.services.close()

    app = FastAPI(title="Overture", version="0.1.0", lifespan=lifespan)
    app.add_exception_handler(RequestValidationError, validation_failed)
    for module in ROUTERS:
        app.include_router(module.router)
    return app
