"""The entry ledger: which journey instances were started for whom, written by the runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select, update

from activities.store.database import Database
from activities.store.tables import JourneyEntry, utcnow
from workflows.types import EntryRecord


def insert_entries(database: Database, records: Sequence[EntryRecord]) -> Any:
    """The statement writing these runs' rows; a run already written is left as it is (the run
    and the router that started it both write it, in either order)."""
    now = utcnow()
    rows = [
        {
            "journey": record.journey,
            "customer_id": record.customer_id,
            "key": record.key,
            "workflow_id": record.workflow_id,
            "run_id": record.run_id,
            "trigger_event_id": record.trigger_event_id,
            "closed": False,
            "entered_at": now,
        }
        for record in records
    ]
    return database.insert_ignoring_duplicates(JourneyEntry).values(rows)


class EntryLedger:
    """Rows of `journey_entries`: each journey run writes its own as its first step, and the
    router writes it too as soon as it knows (so the next event already finds the run)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def record(self, records: Sequence[EntryRecord]) -> None:
        """Remember started runs; writing a run again (a retry, or run and router) changes nothing."""
        if not records:
            return
        await self._database.run_writes([insert_entries(self._database, records)])

    async def started_by(self, event_id: str) -> list[str]:
        """The workflow ids of the runs this event started, as far as they have recorded it."""
        async with self._database.session() as session:
            result = await session.exec(
                select(JourneyEntry.workflow_id).where(JourneyEntry.trigger_event_id == event_id)
            )
            return list(result.all())

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
        async with self._database.write() as session:
            await session.exec(update(JourneyEntry).where(col(JourneyEntry.id).in_(entry_ids)).values(closed=True))
