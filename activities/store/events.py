"""The customers' event log, and the first answer given for each idempotency key."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from activities.store.database import Database, present
from activities.store.tables import Event, utc, utcnow

ROUTING_LEASE = timedelta(seconds=30)


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
                return present(await self.by_idempotency_key(idempotency_key), f"event {idempotency_key!r}")
        return event

    async def by_idempotency_key(self, idempotency_key: str) -> Event | None:
        """The event stored under this key, if any."""
        async with self._database.session() as session:
            result = await session.exec(select(Event).where(Event.idempotency_key == idempotency_key))
            return result.first()

    async def get(self, event_id: str) -> Event | None:
        """The event with this id, as stored now."""
        async with self._database.session() as session:
            return await session.get(Event, event_id, populate_existing=True)

    async def claim_routing(self, event_id: str, lease: timedelta = ROUTING_LEASE) -> bool:
        """Take the right to route an unrouted event, so concurrent requests with one idempotency
        key route it once. A claim older than `lease` (its holder died) can be taken over."""
        now = utcnow()
        async with self._database.session() as session:
            result = await session.exec(
                update(Event)
                .where(
                    col(Event.id) == event_id,
                    col(Event.started).is_(None),
                    or_(col(Event.routing_claimed_at).is_(None), col(Event.routing_claimed_at) < now - lease),
                )
                .values(routing_claimed_at=now)
            )
            await session.commit()
            return result.rowcount == 1

    async def release_routing(self, event_id: str) -> None:
        """Give up a claim after routing failed, so a retry can route at once."""
        async with self._database.session() as session:
            await session.exec(update(Event).where(col(Event.id) == event_id).values(routing_claimed_at=None))
            await session.commit()

    async def mark_routed(self, event_id: str, started: list[str], signalled: list[str]) -> Event:
        """Remember where the event went: the answer every repeat of its idempotency key gets."""
        async with self._database.session() as session:
            await session.exec(
                update(Event)
                .where(col(Event.id) == event_id, col(Event.started).is_(None))
                .values(started=started, signalled=signalled, routing_claimed_at=None)
            )
            await session.commit()
            return present(await session.get(Event, event_id, populate_existing=True), f"event {event_id}")

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
