"""The outbox provider (dev default): keeps the fully rendered message in the database."""

from __future__ import annotations

from sqlmodel import select

from activities.providers.base import OutgoingMessage, Receipt
from activities.store.database import Database
from activities.store.tables import OutboxMessage


class OutboxProvider:
    """Writes each message to the `outbox` table, once per idempotency key (any channel)."""

    name = "outbox"
    honours_idempotency_key = True

    def __init__(self, database: Database) -> None:
        self._database = database

    async def send(self, message: OutgoingMessage) -> Receipt:
        """Store the message; a repeat with the same key returns the first receipt."""
        row = OutboxMessage(
            delivery_key=message.idempotency_key,
            customer_id=message.customer_id,
            channel=message.channel,
            recipient=message.recipient,
            subject=message.content.subject,
            text=message.content.text,
            html=message.content.html,
            headers=dict(message.headers),
        )
        if await self._database.insert_once(row):
            return Receipt(provider_message_id=f"outbox-{row.id}")
        async with self._database.session() as session:
            query = select(OutboxMessage).where(OutboxMessage.delivery_key == message.idempotency_key)
            return Receipt(provider_message_id=f"outbox-{(await session.exec(query)).one().id}")

    async def aclose(self) -> None:
        """Nothing to release."""
