"""`overture dev`: the embedded stack in one process tree.

Temporal dev server (SQLite file under ./.overture/, Web UI on :8233, search attributes
registered) as a child process; the worker and the HTTP API in this process; outbox delivery.
Ctrl-C stops everything; starting again resumes every journey where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import structlog
import uvicorn

from starter.api.app import create_app
from starter.config.settings import Settings
from starter.dev.temporal_server import TemporalDevServer
from starter.routing.registry import JourneyRegistry
from starter.runtime.services import Services
from starter.runtime.worker import build_worker

logger = structlog.get_logger(__name__)


class _EmbeddedApiServer(uvicorn.Server):
    # The dev stack owns SIGINT/SIGTERM and stops uvicorn itself.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run_dev_stack(settings: Settings) -> None:
    """Run server, worker and API until SIGINT/SIGTERM; then stop them in reverse order."""
    registry = JourneyRegistry.from_modules(settings.journey_modules)
    server = TemporalDevServer(
        settings.temporal_server_db,
        port=settings.dev_temporal_port,
        ui_port=settings.dev_ui_port,
        namespace=settings.temporal_namespace,
        log_file=settings.state_dir / "temporal.log",
    )
    print(f"Starting Temporal dev server (state in {settings.temporal_server_db}) ...", flush=True)
    server.start()
    try:
        client = await server.ready()
        services = await Services.open(settings, client=client, registry=registry)
        worker = build_worker(client, settings, registry, services.stores.database)
        api = _EmbeddedApiServer(
            uvicorn.Config(
                create_app(prepared=services), host=settings.api_host, port=settings.api_port, log_config=None
            )
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with worker:
            api_task = asyncio.create_task(api.serve())
            print(
                "\nOverture is running:\n"
                f"  HTTP API     http://{settings.api_host}:{settings.api_port}   (docs at /docs)\n"
                f"  Temporal UI  http://localhost:{settings.dev_ui_port}\n"
                f"  journeys     {', '.join(spec.name for spec in registry.specs)}\n"
                "Press Ctrl-C to stop; run again to resume.\n",
                flush=True,
            )
            await asyncio.wait([api_task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
            api.should_exit = True
            await api_task
        await services.close()
    finally:
        server.stop()
        print("Overture stopped.", flush=True)
