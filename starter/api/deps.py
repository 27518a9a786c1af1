"""What the routes depend on: the process's services and the API key checks.

Closed by default: every `/v1` resource but the unsubscribe links and the providers' webhooks
needs `Authorization: Bearer <key>` (the scheme in any case), where the key is OVERTURE_API_KEY
(an admin key) or a stored key (`overture keys create`) whose scope allows the route. Only an
app that `overture dev` or a test serves on loopback with no OVERTURE_API_KEY is open
(`app.state.open`, set by the app's lifespan). 401: no key, or a key that is not one; 403: a key
whose scope does not allow the route.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from starter.api.schemas import ErrorOut
from starter.api.scopes import ADMIN, EVENTS_WRITE, allows, inbox_scope
from starter.runtime.services import Services

bearer = HTTPBearer(auto_error=False, description="An API key: OVERTURE_API_KEY, or one from `overture keys create`.")


def services(request: Request) -> Services:
    """The process's services (set up by the app's lifespan)."""
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(services)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def key_scope(request: Request, svc: ServicesDep, credentials: Credentials) -> str | None:
    """The scope of the request's key; None when the app is open (no key needed); 401 when the
    key is missing or is no key."""
    if getattr(request.app.state, "open", False):
        return None
    if credentials is None:
        raise _unauthorized("missing API key: send `Authorization: Bearer <key>`")
    presented = credentials.credentials
    master = svc.settings.api_key
    if master is not None and hmac.compare_digest(
        presented.encode("utf-8", "surrogatepass"), master.get_secret_value().encode("utf-8", "surrogatepass")
    ):
        return ADMIN
    stored = await svc.stores.api_keys.find(presented)
    if stored is None:
        raise _unauthorized("wrong or revoked API key")
    return stored.scope


ScopeDep = Annotated[str | None, Depends(key_scope)]


def require_admin(scope: ScopeDep) -> None:
    """The route needs an `admin` key."""
    _require(scope, ADMIN)


def require_events_write(scope: ScopeDep) -> None:
    """The route needs an `events:write` (or `admin`) key."""
    _require(scope, EVENTS_WRITE)


def require_inbox(customer_id: str, scope: ScopeDep) -> None:
    """The route needs an `inbox:<customer_id>` key for the path's customer (or `admin`)."""
    _require(scope, inbox_scope(customer_id))


def _require(scope: str | None, needed: str) -> None:
    if scope is not None and not allows(scope, needed):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this API key's scope ({scope}) does not allow this route")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


API_KEY = [Depends(require_admin)]
"""Router dependencies of the `/v1` resources only an `admin` key may use."""
EVENTS_KEY = [Depends(require_events_write)]
"""Router dependencies of `POST /v1/events`: an `events:write` or `admin` key."""
INBOX_KEY = [Depends(require_inbox)]
"""Router dependencies of a customer's inbox: that customer's `inbox:<id>` key, or `admin`."""


def auth_responses(router: APIRouter) -> dict[int | str, dict[str, object]]:
    """The OpenAPI responses the key check adds to every operation of `router` (none for the
    routers without it: unsubscribe links, webhooks, health)."""
    checks = {require_admin, require_events_write, require_inbox}
    if not any(dependency.dependency in checks for dependency in router.dependencies):
        return {}
    return {
        status.HTTP_401_UNAUTHORIZED: {"model": ErrorOut, "description": "No API key, or not a valid one"},
        status.HTTP_403_FORBIDDEN: {"model": ErrorOut, "description": "The API key's scope does not allow this"},
    }
