"""The long-lived objects a process needs: database, stores, Temporal client, registry, router."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from activities.providers.registry import FeedbackParsers
from activities.sending.consent import UnsubscribeTokens
from activities.sending.feedback_recorder import FeedbackRecorder
from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.deliveries import DeliveryLedger
from activities.store.entries import EntryLedger
from activities.store.events import EventLog
from activities.store.inbox import Inbox
from activities.store.subscriptions import SubscriptionStore
from activities.store.suppressions import SuppressionStore
from starter.config.settings import Settings
from starter.routing.intake import EventIntake
from starter.routing.registry import JourneyRegistry
from starter.routing.router import EventRouter
from starter.runtime.temporal import connect


@dataclass
class Services:
    """Built once per process from the settings and shared by the API's requests."""

    settings: Settings
    database: Database
    client: Client
    registry: JourneyRegistry
    customers: CustomerStore
    events: EventLog
    deliveries: DeliveryLedger
    router: EventRouter
    intake: EventIntake
    subscriptions: SubscriptionStore
    tokens: UnsubscribeTokens
    inbox: Inbox
    feedback_parsers: FeedbackParsers
    feedback: FeedbackRecorder

    @classmethod
    async def open(
        cls, settings: Settings, *, client: Client | None = None, registry: JourneyRegistry | None = None
    ) -> Services:
        """Connect to the database and Temporal (or reuse the given client)."""
        registry = registry or JourneyRegistry.from_modules(settings.journey_modules)
        database = Database(settings.database_url)
        await database.create_tables()
        client = client or await connect(settings)
        customers, events = CustomerStore(database), EventLog(database)
        router = EventRouter(client, registry, settings.task_queue, EntryLedger(database))
        return cls(
            settings=settings,
            database=database,
            client=client,
            registry=registry,
            customers=customers,
            events=events,
            deliveries=DeliveryLedger(database),
            router=router,
            intake=EventIntake(events, customers, router),
            subscriptions=SubscriptionStore(database, settings.consent_defaults, settings.default_consent),
            tokens=UnsubscribeTokens(settings.signing_key()),
            inbox=Inbox(database),
            feedback_parsers=FeedbackParsers(),
            feedback=FeedbackRecorder(database, SuppressionStore(database)),
        )

    async def close(self) -> None:
        """Release the database pool."""
        await self.database.close()
