"""Providers by name, and the providers of each channel built from the settings' lists.

Providers with settings are built from their section of the settings tree
(activities/providers/settings.py); their modules are imported only when a channel uses them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from activities.providers.base import Provider
from activities.providers.inbox import InboxProvider
from activities.providers.outbox import OutboxProvider
from activities.providers.settings import ProviderSettings
from activities.store.database import Database

# name -> "module:Class"; such classes take their section of the settings: `Class(settings.<name>)`.
CONFIGURED = {
    "smtp": "activities.providers.smtp:SmtpProvider",
    "sendgrid": "activities.providers.sendgrid:SendGridProvider",
    "twilio": "activities.providers.twilio:TwilioProvider",
    "fcm": "activities.providers.fcm:FcmProvider",
    "webhook": "activities.providers.webhook:WebhookProvider",
    "slack": "activities.providers.slack:SlackProvider",
}
BUILT_IN = ("outbox", "inbox")  # they keep messages in the database and need no settings
ANY_CHANNEL = ("outbox",)
KNOWN: tuple[str, ...] = (*sorted(CONFIGURED), *BUILT_IN)


class ProviderConfigError(ValueError):
    """A channel names a provider that does not exist, is not configured, or cannot carry that channel."""


def build_providers(
    choices: Mapping[str, Sequence[str]], sections: ProviderSettings, database: Database
) -> dict[str, list[Provider]]:
    """One instance per named provider (shared between channels), listed per channel in order."""
    built: dict[str, Provider] = {}
    by_channel: dict[str, list[Provider]] = {}
    for channel, names in choices.items():
        for name in names:
            provider = built.get(name) or _build(name, sections, database)
            built[name] = provider
            channels: Any = getattr(provider, "channels", None)
            if name not in ANY_CHANNEL and channels is not None and channel not in channels:
                raise ProviderConfigError(
                    f"provider {name!r} cannot send {channel} (it sends {', '.join(sorted(channels))})"
                )
            by_channel.setdefault(channel, []).append(provider)
    return by_channel


def load(path: str) -> Any:
    """The object a `module:Name` path names, imported on first use."""
    module_name, name = path.split(":")
    return getattr(importlib.import_module(module_name), name)


def _build(name: str, sections: ProviderSettings, database: Database) -> Provider:
    if name == "outbox":
        return OutboxProvider(database)
    if name == "inbox":
        return InboxProvider(database)
    if name not in CONFIGURED:
        raise ProviderConfigError(f"unknown provider {name!r}; known: {', '.join(sorted(KNOWN))}")
    section = getattr(sections, name)
    if section is None:
        raise ProviderConfigError(f"provider {name!r} is not configured: set its OVERTURE_{name.upper()}_* variables")
    try:
        return load(CONFIGURED[name])(section)  # type: ignore[no-any-return]
    except ValueError as error:  # e.g. an unreadable credentials file
        raise ProviderConfigError(f"provider {name!r}: {error}") from error
