"""`overture dev`: the embedded stack in one process tree.

The Temporal dev server (SQLite file under ./.overture/, Web UI on :8233, search attributes
registered) and the worker (`overture worker` on the same settings) as child processes that die
with this one; the HTTP API in this process; outbox delivery. API and worker are separate
processes so each has a core. Ctrl-C stops the API, then the worker, then the server; starting
again resumes every journey where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator

import structlog
import uvicorn

from starter.api.app import create_app
from starter.config.settings import Settings
from starter.dev.environment import UnsharedDatabase, shared_database_url
from starter.dev.temporal_server import TemporalDevServer
from starter.dev.worker_process import WorkerExited, WorkerProcess
from starter.routing.registry import JourneyRegistry
from starter.runtime.services import Services

logger = structlog.get_logger(__name__)

WORKER_START_TIMEOUT = 120.0


class _EmbeddedApiServer(uvicorn.Server):
    # The dev stack owns SIGINT/SIGTERM and stops uvicorn itself.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run_dev_stack(settings: Settings) -> int:
    """Run server, worker and API until SIGINT/SIGTERM, then stop them in reverse order; the exit
    status: 0, or non-zero when the worker did not start or died (the stack stops with it)."""
    try:
        shared_database_url(settings.database_url)
    except UnsharedDatabase as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    registry = JourneyRegistry.from_modules(settings.journey_modules)
    server = TemporalDevServer(
        settings.temporal_server_db,
        port=settings.dev_temporal_port,
        ui_port=settings.dev_ui_port,
        namespace=settings.temporal_namespace,
        log_file=settings.state_dir / "temporal.log",
    )
    print(f"Starting Temporal dev server (state in {settings.temporal_server_db}) ...", flush=True)
    try:
        async with contextlib.AsyncExitStack() as stack:
            server.start()
            stack.callback(server.stop)
            client = await server.ready()
            worker = WorkerProcess(settings, server.address)
            stack.push_async_callback(worker.stop)
            # Before the worker starts: it finds the tables and the link-signing secret made.
            services = await Services.open(settings, client=client, registry=registry)
            stack.push_async_callback(services.close)
            stop = _stop_on_signals()
            await worker.start()
            failed = await _until_worker_ready(worker, stop)
            if failed is not None:
                return failed
            api = _EmbeddedApiServer(
                uvicorn.Config(
                    create_app(prepared=services), host=settings.api_host, port=settings.api_port, log_config=None
                )
            )
            api_task = asyncio.create_task(_serve(api))
            stack.push_async_callback(_stop_api, api, api_task)
            return await _supervise(settings, registry, worker, api, api_task, stop)
    finally:
        print("Overture stopped.", flush=True)


async def _until_worker_ready(worker: WorkerProcess, stop: asyncio.Event) -> int | None:
    """None once the worker polls; else the exit status of `overture dev`, the reason printed."""
    ready = asyncio.create_task(worker.ready())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([ready, stopping], timeout=WORKER_START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if stopping.done():
            return 0
        if not ready.done():
            print(f"error: the worker (pid {worker.pid}) is not up after {WORKER_START_TIMEOUT:.0f}s", file=sys.stderr)
            return 1
        ready.result()
        return None
    except WorkerExited as error:
        print(f"error: cannot start: {error} (its output is above)", file=sys.stderr, flush=True)
        return error.returncode if error.returncode > 0 else 1
    finally:
        ready.cancel()
        stopping.cancel()


async def _supervise(
    settings: Settings,
    registry: JourneyRegistry,
    worker: WorkerProcess,
    api: uvicorn.Server,
    api_task: asyncio.Task[int],
    stop: asyncio.Event,
) -> int:
    """Announce the stack once the API serves, and run until a stop signal, the API ending, or
    the worker dying (reported; non-zero)."""
    while not api.started and not api_task.done():
        await asyncio.sleep(0.02)
    if api.started:
        print(
            "\nOverture is running:\n"
            f"  HTTP API     http://{settings.api_host}:{settings.api_port}   (docs at /docs)\n"
            f"  Temporal UI  http://localhost:{settings.dev_ui_port}\n"
            f"  journeys     {', '.join(spec.name for spec in registry.specs)}\n"
            f"  worker       pid {worker.pid} (the API runs in this process)\n"
            "Press Ctrl-C to stop; run again to resume.\n",
            flush=True,
        )
    stopping = asyncio.create_task(stop.wait())
    exited = asyncio.create_task(worker.exited())
    try:
        await asyncio.wait([exited, stopping, api_task], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        exited.cancel()
    if stop.is_set():
        return 0
    if exited.done() and not exited.cancelled():
        print(f"error: {exited.result()} unexpectedly (its output is above); stopping Overture", file=sys.stderr)
        return 1
    if api_task.done() and api_task.result() != 0:
        print("error: the HTTP API stopped (its log is above); stopping Overture", file=sys.stderr)
        return api_task.result()
    return 0


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT (Ctrl-C) or SIGTERM, which from now on stop the stack in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _serve(api: uvicorn.Server) -> int:
    """Serve until told to stop: 0, or uvicorn's exit status when it cannot start (port taken)."""
    try:
        await api.serve()
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    return 0


async def _stop_api(api: uvicorn.Server, api_task: asyncio.Task[int]) -> None:
    api.should_exit = True
    await api_task
