"""`GET /healthz`: is the API up, and can it reach its database and Temporal?

Each dependency is asked within `dependency_timeout` (2 s by default), both at once, so the answer
comes within that bound even when one of them is stalled: 200 `{"status": "ok", "database": "ok",
"temporal": "ok"}`, or 503 `{"status": "degraded", ...}` with the failing one as
`"unreachable: <reason>"`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from starter.api.bounded import Unavailable, within
from starter.api.deps import ServicesDep
from starter.runtime.services import Services

router = APIRouter(tags=["ops"])


@router.get(
    "/healthz",
    responses={503: {"description": "The database or Temporal does not answer: the same body, status unhealthy"}},
)
async def healthz(svc: ServicesDep) -> JSONResponse:
    """Liveness of the API and its two dependencies, answered within the dependency timeout."""
    seconds = svc.settings.dependency_timeout
    database, temporal = await asyncio.gather(
        _status(within(seconds, _select_one(svc), "the database")),
        _status(_temporal_serving(svc, seconds)),
    )
    checks = {"database": database, "temporal": temporal}
    healthy = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ok" if healthy else "degraded", **checks}, status_code=200 if healthy else 503)


async def _status(check: Awaitable[object]) -> str:
    try:
        await check
    except Unavailable as error:
        return f"unreachable: {error.reason}"
    return "ok"


async def _temporal_serving(svc: Services, seconds: float) -> None:
    health = svc.client.service_client.check_health(timeout=timedelta(seconds=seconds))
    if not await within(seconds, health, "Temporal"):
        raise Unavailable("Temporal reports it is not serving")


async def _select_one(svc: Services) -> None:
    async with svc.stores.database.session() as session:
        await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
