"""A real API (uvicorn on a free port) and a real worker on the session's dev server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import uvicorn
from temporalio.client import Client

from starter.api.app import create_app
from starter.config.settings import Settings
from starter.routing.registry import JourneyRegistry
from starter.runtime.services import Services
from starter.runtime.worker import build_worker


class _TestApiServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class ApiStack:
    """What a test talks to: the HTTP API and the services behind it."""

    http: httpx.AsyncClient
    services: Services
    base_url: str


@contextlib.asynccontextmanager
async def running_stack(
    client: Client,
    settings: Settings,
    registry: JourneyRegistry,
    *,
    with_worker: bool = True,
    open_on_loopback: bool = True,
) -> AsyncIterator[ApiStack]:
    """Serve the API over HTTP on `settings.api_port` (on 127.0.0.1 whatever `settings.api_host`
    says), with a worker unless told otherwise; `open_on_loopback` as `create_app` takes it."""
    services = await Services.open(settings, client=client, registry=registry)
    server = _TestApiServer(
        uvicorn.Config(
            create_app(prepared=services, open_on_loopback=open_on_loopback),
            host="127.0.0.1",
            port=settings.api_port,
            log_config=None,
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    base_url = f"http://127.0.0.1:{settings.api_port}"
    try:
        async with contextlib.AsyncExitStack() as stack:
            if with_worker:
                await stack.enter_async_context(build_worker(client, settings, registry, services.stores.database))
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
                yield ApiStack(http=http, services=services, base_url=base_url)
    finally:
        server.should_exit = True
        await serving
        await services.close()
