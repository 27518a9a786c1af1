"""`GET /healthz`: is the API up, and can it reach its database and Temporal?"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from starter.api.deps import ServicesDep

router = APIRouter(tags=["ops"])


@router.get(
    "/healthz",
    responses={503: {"description": "The database or Temporal does not answer: the same body, status unhealthy"}},
)
async def healthz(svc: ServicesDep) -> JSONResponse:
    """Liveness of the API and its two dependencies."""
    checks = {"database": "ok", "temporal": "ok"}
    try:
        async with svc.stores.database.session() as session:
            await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception as error:
        checks["database"] = f"error: {error}"
    try:
        await svc.client.service_client.check_health()
    except Exception as error:
        checks["temporal"] = f"error: {error}"
    healthy = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ok" if healthy else "unhealthy", **checks}, status_code=200 if healthy else 503)
