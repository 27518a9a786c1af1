"""What every route of the HTTP API depends on: the process's services and the API key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from starter.services import Services

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

REQUIRE_API_KEY = [Depends(require_api_key)]
