"""The in-app inbox provider: messages stored for the app to show (`GET /v1/customers/{id}/inbox`)."""

from __future__ import annotations

from sqlmodel import col, select

from activities.channels.base import OutgoingMessage, Receipt
from activities.database import Database
from activities.tables import InboxMessage, utcnow


class InboxProvider:
    """Writes each in-app message to `inbox_messages`, once per idempotency key."""

    name = "inbox"
    channels = frozenset({"in_app"})
    honours_idempotency_key = True

    def __init__(self, database: Database) -> None:
        self._database = database

    async def send(self, message: OutgoingMessage) -> Receipt:
        """Store the message in the customer's inbox."""
        row = InboxMessage(
            delivery_key=message.idempotency_key,
            customer_id=message.customer_id,
            topic=message.topic,
            title=message.content.subject,
            body=message.content.text,
            html=message.content.html,
        )
        if await self._database.insert_once(row):
            return Receipt(provider_message_id=f"inbox-{row.id}")
        async with self._database.session() as session:
            query = select(InboxMessage).where(InboxMessage.delivery_key == message.idempotency_key)
            return Receipt(provider_message_id=f"inbox-{(await session.exec(query)).one().id}")

    async def aclose(self) -> None:
        """Nothing to release."""


class Inbox:
    """What the API serves from the inbox: a customer's messages, and marking them read."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def messages(self, customer_id: str, *, unread_only: bool = False, limit: int = 50) -> list[InboxMessage]:
        """Newest first."""
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
