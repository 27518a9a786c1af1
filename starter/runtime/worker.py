"""The worker: every registered journey workflow and the activities they call, on one task queue.

`overture worker` (and `python worker.py`) run it on its own; `overture dev`, `overture simulate`
and the journey bench build the same worker around their own client and database.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.journey_support import JourneySupportActivities
from activities.providers.registry import build_providers
from activities.send_message import MessagingActivities, SendRules
from activities.sending.consent import UnsubscribeTokens
from activities.sending.templates import TemplateStore
from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.deliveries import DeliveryLedger
from activities.store.subscriptions import SubscriptionStore
from activities.store.suppressions import SuppressionStore
from starter.config.logs import configure_logging
from starter.config.settings import Settings
from starter.routing.registry import JourneyRegistry
from starter.runtime.sandbox import journey_workflow_runner
from starter.runtime.temporal import check_search_attributes, connect

logger = structlog.get_logger(__name__)


def journey_activities(settings: Settings, database: Database) -> list[Callable[..., Any]]:
    """Every activity journeys call, wired to the database, templates and providers. Templates
    and provider settings are checked now, so a mistake stops start-up instead of a send."""
    customers = CustomerStore(database)
    messaging = MessagingActivities(
        customers=customers,
        deliveries=DeliveryLedger(database),
        templates=TemplateStore(settings.template_dirs),
        providers=build_providers(settings.providers_by_channel, database),
        subscriptions=SubscriptionStore(database, settings.consent_defaults, settings.default_consent),
        suppressions=SuppressionStore(database),
        tokens=UnsubscribeTokens(settings.signing_key()),
        rules=SendRules(
            default_timezone=settings.default_timezone,
            quiet_hours=settings.quiet_window,
            caps=settings.caps,
            attempts_per_provider=settings.provider_attempts,
            public_url=settings.public_url,
        ),
    )
    support = JourneySupportActivities(database, customers, settings.default_timezone)
    return [messaging.send_message, support.load_profile, support.resolve_local_time, support.record_conversion]


async def close_activities(activities: list[Callable[..., Any]]) -> None:
    """Release what the activities' owners hold open (providers' HTTP connections)."""
    owners = {id(owner): owner for owner in (getattr(function, "__self__", None) for function in activities)}
    for owner in owners.values():
        close = getattr(owner, "aclose", None)
        if close is not None:
            await close()


def build_worker(
    client: Client,
    settings: Settings,
    registry: JourneyRegistry,
    database: Database,
    activities: list[Callable[..., Any]] | None = None,
) -> Worker:
    """A worker for every registered journey and the activities they call (built from the
    settings unless given)."""
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=registry.workflows,
        activities=activities if activities is not None else journey_activities(settings, database),
        graceful_shutdown_timeout=timedelta(seconds=10),
        workflow_runner=journey_workflow_runner(),
    )


async def run_worker(settings: Settings) -> None:
    """Run the worker until SIGINT/SIGTERM, then finish in-flight tasks and stop."""
    registry = JourneyRegistry.from_modules(settings.journey_modules)
    database = Database(settings.database_url)
    await database.create_tables()
    activities = journey_activities(settings, database)  # bad templates or providers stop us here
    client = await connect(settings)
    await check_search_attributes(client)
    worker = build_worker(client, settings, registry, database, activities)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    logger.info("worker.started", task_queue=settings.task_queue, journeys=[spec.name for spec in registry.specs])
    try:
        async with worker:
            await stop.wait()
    finally:
        await close_activities(activities)
        await database.close()
        logger.info("worker.stopped")


def main() -> None:
    """`python worker.py`: the worker with settings from the environment."""
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
