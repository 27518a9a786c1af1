"""The entry ledger: which journey instances were started for whom."""

from __future__ import annotations

from sqlmodel import col, select, update

from activities.store.database import Database
from activities.store.tables import JourneyEntry


class EntryLedger:
    """Rows of `journey_entries`, written by the router when it starts an instance."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def record(
        self, *, journey: str, customer_id: str, key: str | None, workflow_id: str, trigger_event_id: str | None
    ) -> None:
        """Remember a started instance."""
        async with self._database.session() as session:
            session.add(
                JourneyEntry(
                    journey=journey,
                    customer_id=customer_id,
                    key=key,
                    workflow_id=workflow_id,
                    trigger_event_id=trigger_event_id,
                )
            )
            await session.commit()

    async def has_entered(self, journey: str, customer_id: str, key: str | None) -> bool:
        """True if this customer (with this instance key) ever entered the journey."""
        async with self._database.session() as session:
            query = select(JourneyEntry.id).where(
                JourneyEntry.journey == journey, JourneyEntry.customer_id == customer_id
            )
            if key is not None:
                query = query.where(JourneyEntry.key == key)
            return (await session.exec(query.limit(1))).first() is not None

    async def open_instances(self, journey: str, customer_id: str) -> list[JourneyEntry]:
        """This customer's instances not yet seen closed, oldest first."""
        async with self._database.session() as session:
            result = await session.exec(
                select(JourneyEntry)
                .where(
                    JourneyEntry.journey == journey, JourneyEntry.customer_id == customer_id, ~col(JourneyEntry.closed)
                )
                .order_by(col(JourneyEntry.id))
            )
            return list(result.all())

    async def mark_closed(self, entry_ids: list[int]) -> None:
        """These entries have ended: stop signalling them. (By row, not workflow id: a later run
        that reuses the id has a row of its own.)"""
        if not entry_ids:
            return
        async with self._database.session() as session:
            await session.exec(update(JourneyEntry).where(col(JourneyEntry.id).in_(entry_ids)).values(closed=True))
            await session.commit()
