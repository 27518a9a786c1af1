"""The in-app inbox as the API serves it: a customer's messages, and marking them read.

The `inbox` provider (activities/providers/inbox.py) writes the rows.
"""

from __future__ import annotations

from sqlmodel import col, select

from activities.store.database import Database
from activities.store.tables import InboxMessage, utcnow


class Inbox:
    """What the API serves from the inbox: a customer's messages, and marking them read."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def messages(
        self, customer_id: str, *, unread_only: bool = False, limit: int | None = 50
    ) -> list[InboxMessage]:
        """Newest first (all of them for `limit` None)."""
        async with self._database.session() as session:
            query = select(InboxMessage).where(InboxMessage.customer_id == customer_id)
            if unread_only:
                query = query.where(col(InboxMessage.read_at).is_(None))
            query = query.order_by(col(InboxMessage.created_at).desc(), col(InboxMessage.id).desc()).limit(limit)
            return list((await session.exec(query)).all())

    async def mark_read(self, customer_id: str, message_id: int) -> InboxMessage | None:
        """Mark one message read (idempotent); None if the customer has no such message."""
        async with self._database.session() as session:
            message = await session.get(InboxMessage, message_id)
            if message is None or message.customer_id != customer_id:
                return None
            if message.read_at is None:
                message.read_at = utcnow()
                session.add(message)
                await session.commit()
            return message
