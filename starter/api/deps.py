"""What the routes depend on: the process's services and the API key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from starter.runtime.services import Services

bearer = HTTPBearer(auto_error=False)


def services(request: Request) -> Services:
    """The process's services (set up by the app's lifespan)."""
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(services)]


def require_api_key(
    svc: ServicesDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """Check `Authorization: Bearer` against OVERTURE_API_KEY, when one is set."""
    expected = svc.settings.api_key
    if expected is None:
        return
    if credentials is None or not hmac.compare_digest(credentials.credentials, expected.get_secret_value()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing or wrong API key", headers={"WWW-Authenticate": "Bearer"}
        )


API_KEY = [Depends(require_api_key)]
"""Router dependencies of every `/v1` resource that customers and providers do not call themselves."""
