"""The worker: every registered journey workflow and the activities they call, on one task queue.

`overture worker` (and `python worker.py`) run it on its own; `overture dev`, `overture simulate`
and the journey bench build the same worker around their own client and database.

Sized by the `OVERTURE_WORKER_*` settings: the sticky cache bounds memory (a journey waiting on
a timer is not kept in memory once evicted; its next step rebuilds it from its history), the
task and poller counts bound concurrency.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal

import structlog
from temporalio.client import Client
from temporalio.worker import PollerBehavior, PollerBehaviorAutoscaling, PollerBehaviorSimpleMaximum, Worker

from activities.store.database import Database
from starter.config.settings import Settings
from starter.routing.registry import JourneyRegistry
from starter.runtime.activities import close_activities, journey_activities
from starter.runtime.sandbox import journey_workflow_runner
from starter.runtime.stores import Stores
from starter.runtime.temporal import check_search_attributes, connect

logger = structlog.get_logger(__name__)


def build_worker(
    client: Client,
    settings: Settings,
    registry: JourneyRegistry,
    database: Database,
    activities: list[Callable[..., Any]] | None = None,
) -> Worker:
    """A worker for every registered journey and the activities they call (built from the
    settings unless given)."""
    if activities is None:
        activities = journey_activities(settings, Stores.on(database, settings))
    shared = settings.journey_modules if settings.worker_shared_journey_modules else ()
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=registry.workflows,
        activities=activities,
        graceful_shutdown_timeout=timedelta(seconds=10),
        workflow_runner=journey_workflow_runner(shared),
        max_cached_workflows=settings.worker_cache_size,
        max_concurrent_workflow_tasks=settings.worker_workflow_tasks,
        max_concurrent_activities=settings.worker_activities,
        workflow_task_poller_behavior=poller_behavior(settings.worker_pollers),
        activity_task_poller_behavior=poller_behavior(settings.worker_pollers),
    )


def poller_behavior(pollers: int | Literal["auto"]) -> PollerBehavior:
    """`OVERTURE_WORKER_POLLERS` as the SDK's poller behaviour: a fixed maximum, or scaled by
    the server ("auto")."""
    if pollers == "auto":
        return PollerBehaviorAutoscaling()
    return PollerBehaviorSimpleMaximum(maximum=pollers)


async def run_worker(settings: Settings, on_running: Callable[[], None] | None = None) -> None:
    """Run the worker until SIGINT/SIGTERM, then finish in-flight tasks and stop. `on_running`
    is called once the worker polls its task queue: a supervisor's readiness signal."""
    registry = JourneyRegistry.from_modules(settings.journey_modules)
    stores = await Stores.open(settings)
    activities = journey_activities(settings, stores)  # bad templates or providers stop us here
    client = await connect(settings)
    await check_search_attributes(client)
    worker = build_worker(client, settings, registry, stores.database, activities)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with worker:
            while not worker.is_running:  # checking the namespace; a failure cancels this block
                await asyncio.sleep(0.01)
            logger.info(
                "worker.started", task_queue=settings.task_queue, journeys=[spec.name for spec in registry.specs]
            )
            if on_running is not None:
                on_running()
            await stop.wait()
    finally:
        await close_activities(activities)
        await stores.close()
        logger.info("worker.stopped")
