"""The activities journeys call, wired from the settings and the stores (for the worker, the
journey bench and the tests alike)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from activities.journey_entry import EntryRecorder
from activities.journey_support import JourneySupportActivities
from activities.providers.base import Provider
from activities.providers.registry import build_providers
from activities.send_message import MessagingActivities, SendRules
from activities.sending.consent import UnsubscribeTokens
from activities.sending.templates import TemplateStore
from starter.config.settings import Settings
from starter.runtime.signing import unsubscribe_secret
from starter.runtime.stores import Stores


def send_rules(settings: Settings) -> SendRules:
    """The sending policy of `settings`: clocks, caps, failover, where links point."""
    return SendRules(
        default_timezone=settings.default_timezone,
        quiet_hours=settings.quiet_hours,
        caps=settings.frequency_caps,
        attempts_per_provider=settings.provider_attempts,
        public_url=settings.public_url,
    )


def messaging_activities(
    settings: Settings, stores: Stores, providers: Mapping[str, Sequence[Provider]] | None = None
) -> MessagingActivities:
    """The send activity, with the configured providers unless others are given. Templates and
    providers are checked now, so a mistake stops start-up instead of a send."""
    return MessagingActivities(
        database=stores.database,
        customers=stores.customers,
        deliveries=stores.deliveries,
        templates=TemplateStore(settings.template_dirs),
        providers=providers
        if providers is not None
        else build_providers(settings.channel_providers, settings.providers, stores.database),
        subscriptions=stores.subscriptions,
        suppressions=stores.suppressions,
        tokens=UnsubscribeTokens(unsubscribe_secret(settings)),
        rules=send_rules(settings),
    )


def journey_activities(
    settings: Settings, stores: Stores, providers: Mapping[str, Sequence[Provider]] | None = None
) -> list[Callable[..., Any]]:
    """Every activity journeys call."""
    messaging = messaging_activities(settings, stores, providers)
    support = JourneySupportActivities(stores.database, stores.customers, settings.default_timezone)
    return [
        messaging.send_message,
        EntryRecorder(stores.entries).record_entry,
        support.load_profile,
        support.resolve_local_time,
        support.record_conversion,
    ]


def workflow_only_activities(stores: Stores) -> list[Callable[..., Any]]:
    """What a worker that runs only workflows (`no_remote_activities=True`) needs: the local
    activity each journey run records its entry with."""
    return [EntryRecorder(stores.entries).record_entry]


async def close_activities(activities: Sequence[Callable[..., Any]]) -> None:
    """Release what the activities' owners hold open (providers' HTTP connections)."""
    owners = {id(owner): owner for owner in (getattr(function, "__self__", None) for function in activities)}
    for owner in owners.values():
        close = getattr(owner, "aclose", None)
        if close is not None:
            await close()
