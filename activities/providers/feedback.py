"""Delivery feedback from providers (delivered, bounced, complained, opened, clicked), received
on `POST /v1/webhooks/{provider}`: each provider that reports it has a parser that checks the
request's signature and turns its payload into DeliveryFeedback."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

FeedbackKind = Literal["delivered", "bounced", "complained", "opened", "clicked", "failed"]


@dataclass(frozen=True)
class InboundWebhook:
    """A provider's HTTP callback as received: the full URL, headers (lower-case names), raw body."""

    url: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class DeliveryFeedback:
    """One thing that happened to a delivered message.

    The delivery is found by `idempotency_key` (when the provider echoes it back) or by
    `provider_message_id`. `permanent` marks a hard bounce; hard bounces and complaints suppress
    `address` on the channel.
    """

    kind: FeedbackKind
    provider_message_id: str | None = None
    idempotency_key: str | None = None
    address: str | None = None
    permanent: bool = False
    occurred_at: datetime | None = None
    detail: str | None = None


class FeedbackParser(Protocol):
    """Verifies and reads one provider's delivery callbacks."""

    provider: str
    channel: str

    def verify(self, webhook: InboundWebhook) -> bool:
        """True only if the request provably comes from the provider (its signature checks out)."""
        ...

    def parse(self, webhook: InboundWebhook) -> list[DeliveryFeedback]:
        """The feedback the (verified) request carries; ValueError if it is malformed."""
        ...
