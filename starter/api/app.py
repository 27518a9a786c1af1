"""The HTTP API app: profiles and events in, journeys started, messages out.

OpenAPI docs at /docs. Every `/v1` resource wants `Authorization: Bearer <key>` of a scope that
allows it (starter/api/deps.py), except the links customers follow and providers' callbacks; only
an app served on loopback with no OVERTURE_API_KEY by `overture dev` or a test is open.
A request body over OVERTURE_MAX_BODY_BYTES gets 413 before any of it is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from starter.api.body_limit import BodyLimit
from starter.api.deps import auth_responses
from starter.api.errors import validation_failed
from starter.api.routes import customers, events, health, inbox, journeys, subscriptions, unsubscribe, webhooks
from starter.config import access_log
from starter.config.exposure import api_is_open
from starter.config.settings import Settings
from starter.runtime.services import Services

ROUTERS = (health, customers, subscriptions, inbox, events, journeys, unsubscribe, webhooks)


def create_app(
    settings: Settings | None = None, prepared: Services | None = None, *, open_on_loopback: bool = True
) -> FastAPI:
    """The API app; give `prepared` services to share a client and database (tests, `overture dev`).

    With `open_on_loopback` (`overture dev`, tests) it serves without a key while its settings
    listen on loopback with no OVERTURE_API_KEY; `overture api` passes False: always closed."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = app.state.services = prepared or await Services.open(settings or Settings.load())
        app.state.open = open_on_loopback and api_is_open(services.settings)
        try:
            async with services.relay.running():
                yield
        finally:
            if prepared is None:
                await app.state.services.close()

    access_log.install()
    app = FastAPI(title="Overture", version="0.1.0", lifespan=lifespan)
    app.add_middleware(BodyLimit, limit=lambda: app.state.services.settings.max_body_bytes)
    app.add_exception_handler(RequestValidationError, validation_failed)
    for module in ROUTERS:
        app.include_router(module.router, responses=auth_responses(module.router))
    return app
