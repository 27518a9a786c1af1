"""What every provider receives and returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from activities.templates import Rendered


@dataclass(frozen=True)
class OutgoingMessage:
    """A rendered message for one recipient, with the key that makes re-sending it a no-op."""

    idempotency_key: str
    customer_id: str
    channel: str
    topic: str
    recipient: str
    content: Rendered


@dataclass(frozen=True)
class Receipt:
    """The provider's acceptance of a message."""

    provider_message_id: str


class Provider(Protocol):
    """Delivers rendered messages on one or more channels."""

    name: str

    async def send(self, message: OutgoingMessage) -> Receipt:
        """Hand the message over; called again with the same key after a crash, it must not
        deliver twice (pass the key on to providers that accept one)."""
        ...
