"""The composition root of the data layer: every store, on one database.

The worker, the API, `overture simulate`, the journey bench and the tests all build their parts
from a `Stores`, so a store is wired in one place only.
"""

from __future__ import annotations

from dataclasses import dataclass

from activities.store.api_keys import ApiKeyStore
from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.deliveries import DeliveryLedger
from activities.store.entries import EntryLedger
from activities.store.events import EventLog
from activities.store.inbox import Inbox
from activities.store.subscriptions import SubscriptionStore
from activities.store.suppressions import SuppressionStore
from starter.config.settings import Settings


@dataclass(frozen=True)
class Stores:
    """One instance of each store, sharing the database's connection pool."""

    database: Database
    customers: CustomerStore
    events: EventLog
    entries: EntryLedger
    deliveries: DeliveryLedger
    subscriptions: SubscriptionStore
    suppressions: SuppressionStore
    inbox: Inbox
    api_keys: ApiKeyStore

    @classmethod
    def on(cls, database: Database, settings: Settings) -> Stores:
        """The stores on `database`, with the consent defaults of `settings`."""
        return cls(
            database=database,
            customers=CustomerStore(database),
            events=EventLog(database),
            entries=EntryLedger(database),
            deliveries=DeliveryLedger(database),
            subscriptions=SubscriptionStore(database, settings.topic_defaults, settings.default_consent),
            suppressions=SuppressionStore(database),
            inbox=Inbox(database),
            api_keys=ApiKeyStore(database),
        )

    @classmethod
    async def open(cls, settings: Settings) -> Stores:
        """Connect to OVERTURE_DATABASE_URL, create missing tables, and build the stores."""
        database = Database(settings.database_url)
        await database.create_tables()
        return cls.on(database, settings)

    async def close(self) -> None:
        """Release the database's connections."""
        await self.database.close()
