"""What the HTTP API serves from: the stores, the Temporal client, the registry and router."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from activities.providers.feedback import FeedbackParsers
from activities.sending.consent import UnsubscribeTokens
from activities.sending.feedback_recorder import FeedbackRecorder
from starter.config.settings import Settings
from starter.routing.intake import EventIntake
from starter.routing.registry import JourneyRegistry
from starter.routing.relay import RoutingRelay
from starter.routing.router import EventRouter
from starter.runtime.signing import unsubscribe_secret
from starter.runtime.stores import Stores
from starter.runtime.temporal import connect


@dataclass
class Services:
    """Built once per process from the settings and shared by the API's requests."""

    settings: Settings
    stores: Stores
    client: Client
    registry: JourneyRegistry
    router: EventRouter
    intake: EventIntake
    relay: RoutingRelay
    tokens: UnsubscribeTokens
    feedback_parsers: FeedbackParsers
    feedback: FeedbackRecorder

    @classmethod
    async def open(
        cls, settings: Settings, *, client: Client | None = None, registry: JourneyRegistry | None = None
    ) -> Services:
        """Connect to the database and Temporal (or reuse the given client)."""
        registry = registry or JourneyRegistry.from_modules(settings.journey_modules)
        stores = await Stores.open(settings)
        client = client or await connect(settings)
        router = EventRouter(client, registry, settings.task_queue, stores.entries)
        intake = EventIntake(stores.events, router, settings.routing_timeout, settings.max_event_properties_bytes)
        return cls(
            settings=settings,
            stores=stores,
            client=client,
            registry=registry,
            router=router,
            intake=intake,
            relay=RoutingRelay(stores.events, intake),
            tokens=UnsubscribeTokens(unsubscribe_secret(settings)),
            feedback_parsers=FeedbackParsers(settings.providers),
            feedback=FeedbackRecorder(stores.database, stores.suppressions),
        )

    async def close(self) -> None:
        """Release the database pool."""
        await self.stores.close()
