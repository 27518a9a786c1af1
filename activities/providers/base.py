"""What every provider receives, returns and raises.

A provider delivers a rendered message on one or more channels. It reports the outcome by
returning a Receipt, or by raising:

- `PermanentProviderError`: the provider refused for good (bad credentials, a 4xx other than
  429, an invalid recipient). The message moves on to the channel's next provider.
- `TransientProviderError`: try again later (5xx, 429, timeouts, unreachable). Temporal retries
  with backoff, honouring `retry_after`; after a few attempts the next provider takes over.
  `maybe_delivered` says the request may have reached the provider (e.g. no response came).

Providers that honour the idempotency key (`honours_idempotency_key`) may be called again for
a message whose earlier call may have gone through; others are not, unless the message is
transactional (see activities/messaging.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from activities.sending.templates import Rendered


@dataclass(frozen=True)
class OutgoingMessage:
    """A rendered message for one recipient, with the key that makes re-sending it a no-op for
    providers that honour one, and extra headers (e.g. List-Unsubscribe for email)."""

    idempotency_key: str
    customer_id: str
    channel: str
    topic: str
    recipient: str
    content: Rendered
    headers: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    """The provider's acceptance of a message. `dead_addresses` are parts of the recipient the
    provider says will never work again (e.g. uninstalled apps' push tokens): they are removed
    from the profile."""

    provider_message_id: str
    dead_addresses: tuple[str, ...] = ()


class ProviderError(Exception):
    """A provider did not accept a message; `reason` is the provider's own explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PermanentProviderError(ProviderError):
    """Refused for good by this provider: do not retry it, try the next provider.
    `dead_addresses` as in Receipt."""

    def __init__(self, reason: str, *, dead_addresses: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.dead_addresses = dead_addresses


class TransientProviderError(ProviderError):
    """Not accepted now; worth retrying (after `retry_after`, if the provider said)."""

    def __init__(self, reason: str, *, retry_after: timedelta | None = None, maybe_delivered: bool = False) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered


class Provider(Protocol):
    """Delivers rendered messages on one or more channels."""

    name: str
    honours_idempotency_key: bool

    async def send(self, message: OutgoingMessage) -> Receipt:
        """Hand the message over, or raise a ProviderError saying why not."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
