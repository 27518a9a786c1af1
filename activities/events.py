"""The customers' event log, and the first answer given for each idempotency key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from activities.database import Database
from activities.tables import Event, utc


class EventLog:
    """Stores events before they are routed, so none is lost if routing fails."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def record(
        self,
        *,
        customer_id: str,
        name: str,
        properties: dict[str, Any],
        occurred_at: datetime | None,
        idempotency_key: str | None,
    ) -> Event:
        """Store the event, or return the one stored earlier under the same idempotency key."""
        if idempotency_key is not None:
            earlier = await self.by_idempotency_key(idempotency_key)
            if earlier is not None:
                return earlier
        event = Event(customer_id=customer_id, name=name, properties=properties, idempotency_key=idempotency_key)
        if occurred_at is not None:
            event.occurred_at = utc(occurred_at)
        async with self._database.session() as session:
            session.add(event)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                if idempotency_key is None:
                    raise
                earlier = await self.by_idempotency_key(idempotency_key)
                assert earlier is not None, "unique violation without a row"
                return earlier
        return event

    async def by_idempotency_key(self, idempotency_key: str) -> Event | None:
        """The event stored under this key, if any."""
        async with self._database.session() as session:
            result = await session.exec(select(Event).where(Event.idempotency_key == idempotency_key))
            return result.first()

    async def mark_routed(self, event_id: str, started: list[str], signalled: list[str]) -> None:
        """Remember where the event went: the answer repeated for a repeated idempotency key."""
        async with self._database.session() as session:
            event = await session.get(Event, event_id)
            assert event is not None, f"event {event_id} vanished"
            event.started, event.signalled = started, signalled
            session.add(event)
            await session.commit()

    async def for_customer(self, customer_id: str, limit: int = 50) -> list[Event]:
        """The customer's latest events, newest first."""
        async with self._database.session() as session:
            result = await session.exec(
                select(Event)
                .where(Event.customer_id == customer_id)
                .order_by(col(Event.received_at).desc())
                .limit(limit)
            )
            return list(result.all())
