"""The in-app inbox provider: messages stored for the app to show (`GET /v1/customers/{id}/inbox`)."""

from __future__ import annotations

from sqlmodel import select

from activities.providers.base import OutgoingMessage, Receipt
from activities.store.database import Database
from activities.store.tables import InboxMessage


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
