"""Delivery feedback from providers (delivered, bounced, complained, opened, clicked), received
on `POST /v1/webhooks/{provider}`: each provider that reports it has a parser that checks the
request's signature and turns its payload into DeliveryFeedback. Parsing ends here; applying the
feedback to deliveries and suppressions is activities/sending/feedback_recorder.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from activities.providers.registry import load
from activities.providers.settings import ProviderSettings

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


# name -> "module:Class" of the parser of its delivery callbacks (`POST /v1/webhooks/{name}`),
# built from its provider's section of the settings: `Class.configured(settings.<name>)`.
PARSERS = {
    "sendgrid": "activities.providers.sendgrid:SendGridFeedback",
    "twilio": "activities.providers.twilio:TwilioFeedback",
}


class NoFeedbackParser(LookupError):
    """Delivery callbacks came for a provider that sends none, or is not configured here."""


class FeedbackParsers:
    """The delivery-callback parser of each provider, built from its settings on first use (so
    the API starts even when a provider it never hears from is not configured)."""

    def __init__(self, sections: ProviderSettings, prepared: Mapping[str, FeedbackParser] | None = None) -> None:
        self._sections = sections
        self._parsers: dict[str, FeedbackParser] = dict(prepared or {})

    def get(self, provider: str) -> FeedbackParser:
        """The parser for `provider`; NoFeedbackParser saying why there is none."""
        if provider in self._parsers:
            return self._parsers[provider]
        if provider not in PARSERS:
            raise NoFeedbackParser(f"no delivery callbacks from {provider!r}; known: {', '.join(sorted(PARSERS))}")
        section = getattr(self._sections, provider)
        if section is None:
            variables = f"OVERTURE_{provider.upper()}_*"
            raise NoFeedbackParser(f"{provider} is not configured here: set its {variables} variables")
        parser: FeedbackParser = load(PARSERS[provider]).configured(section)
        self._parsers[provider] = parser
        return parser
