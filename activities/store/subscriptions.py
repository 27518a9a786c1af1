"""Subscription choices per topic and channel, and the default for customers who never chose."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.store.database import Database
from activities.store.sessions import session_of
from activities.store.tables import Subscription, utcnow

SUBSCRIBED, UNSUBSCRIBED = "subscribed", "unsubscribed"
ALL_CHANNELS = "*"


class SubscriptionStore:
    """Reads and writes `subscriptions`; a customer with no choice gets the topic's default."""

    def __init__(self, database: Database, defaults: Mapping[str, str], fallback: str = SUBSCRIBED) -> None:
        self._database = database
        self._defaults = dict(defaults)
        self._fallback = fallback

    def default(self, topic: str) -> str:
        """The status of a customer who never chose, for `topic`."""
        return self._defaults.get(topic, self._fallback)

    async def status(self, customer_id: str, topic: str, channel: str, *, session: AsyncSession | None = None) -> str:
        """The customer's status for `topic` on `channel`: a channel-specific choice wins over a
        choice for every channel, which wins over the default (read in `session` if given)."""
        async with session_of(self._database, session) as reading:
            rows = (
                await reading.exec(
                    select(Subscription).where(
                        Subscription.customer_id == customer_id,
                        Subscription.topic == topic,
                        col(Subscription.channel).in_([channel, ALL_CHANNELS]),
                    )
                )
            ).all()
        by_channel = {row.channel: row.status for row in rows}
        return by_channel.get(channel) or by_channel.get(ALL_CHANNELS) or self.default(topic)

    async def choose(self, customer_id: str, topic: str, channel: str | None, status: str, source: str) -> Subscription:
        """Record a choice (channel None = every channel), replacing any earlier one."""
        for _ in range(2):  # a concurrent first choice for the same key: the retry updates it
            async with self._database.session() as session:
                key = (Subscription.customer_id == customer_id, Subscription.topic == topic)
                existing = (
                    await session.exec(
                        select(Subscription).where(*key, Subscription.channel == (channel or ALL_CHANNELS))
                    )
                ).first()
                row = existing or Subscription(
                    customer_id=customer_id, topic=topic, channel=channel or ALL_CHANNELS, status=status, source=source
                )
                row.status, row.source, row.updated_at = status, source, utcnow()
                session.add(row)
                try:
                    await session.commit()
                    return row
                except IntegrityError:
                    await session.rollback()
        raise RuntimeError("subscription could not be stored")

    async def for_customer(self, customer_id: str) -> list[Subscription]:
        """Every choice the customer made."""
        async with self._database.session() as session:
            query = (
                select(Subscription).where(Subscription.customer_id == customer_id).order_by(col(Subscription.topic))
            )
            return list((await session.exec(query)).all())
