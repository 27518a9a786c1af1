"""Providers by name, and the providers of each channel built from the settings' lists."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from activities.providers.base import Provider
from activities.providers.feedback import FeedbackParser
from activities.providers.inbox import InboxProvider
from activities.providers.outbox import OutboxProvider
from activities.store.database import Database

# name -> "module:Class"; such classes build themselves from their own OVERTURE_<NAME>_* settings.
CONFIGURED = {
    "smtp": "activities.providers.smtp:SmtpProvider",
    "sendgrid": "activities.providers.sendgrid:SendGridProvider",
    "twilio": "activities.providers.twilio:TwilioProvider",
    "fcm": "activities.providers.fcm:FcmProvider",
    "webhook": "activities.providers.webhook:WebhookProvider",
    "slack": "activities.providers.slack:SlackProvider",
}
ANY_CHANNEL = ("outbox",)
# name -> "module:Class" of the parser of its delivery callbacks (`POST /v1/webhooks/{name}`).
FEEDBACK = {
    "sendgrid": "activities.providers.sendgrid:SendGridFeedback",
    "twilio": "activities.providers.twilio:TwilioFeedback",
}


class ProviderConfigError(ValueError):
    """A channel names a provider that does not exist or cannot carry that channel."""


class NoFeedbackParser(LookupError):
    """Delivery callbacks came for a provider that sends none, or is not configured here."""


class FeedbackParsers:
    """The delivery-callback parser of each provider, built from its settings on first use (so
    the API starts even when a provider it never hears from is not configured)."""

    def __init__(self, prepared: Mapping[str, FeedbackParser] | None = None) -> None:
        self._parsers: dict[str, FeedbackParser] = dict(prepared or {})

    def get(self, provider: str) -> FeedbackParser:
        """The parser for `provider`; NoFeedbackParser saying why there is none."""
        if provider in self._parsers:
            return self._parsers[provider]
        if provider not in FEEDBACK:
            raise NoFeedbackParser(f"no delivery callbacks from {provider!r}; known: {', '.join(sorted(FEEDBACK))}")
        try:
            parser = _configured(FEEDBACK[provider])
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            raise NoFeedbackParser(f"{provider} is not configured: {error}") from error
        self._parsers[provider] = parser
        return parser  # type: ignore[no-any-return]


def build_providers(choices: Mapping[str, Sequence[str]], database: Database) -> dict[str, list[Provider]]:
    """One instance per named provider (shared between channels), listed per channel in order."""
    built: dict[str, Provider] = {}
    by_channel: dict[str, list[Provider]] = {}
    for channel, names in choices.items():
        for name in names:
            provider = built.get(name) or _build(name, database)
            built[name] = provider
            channels: Any = getattr(provider, "channels", None)
            if name not in ANY_CHANNEL and channels is not None and channel not in channels:
                raise ProviderConfigError(
                    f"provider {name!r} cannot send {channel} (it sends {', '.join(sorted(channels))})"
                )
            by_channel.setdefault(channel, []).append(provider)
    return by_channel


def _build(name: str, database: Database) -> Provider:
    if name == "outbox":
        return OutboxProvider(database)
    if name == "inbox":
        return InboxProvider(database)
    if name not in CONFIGURED:
        known = ", ".join(sorted([*CONFIGURED, "outbox", "inbox"]))
        raise ProviderConfigError(f"unknown provider {name!r}; known: {known}")
    return _configured(CONFIGURED[name])  # type: ignore[no-any-return]


def _configured(path: str) -> Any:
    """`module:Class` built from its own settings (`Class.from_env()`)."""
    module_name, class_name = path.split(":")
    return getattr(importlib.import_module(module_name), class_name).from_env()
