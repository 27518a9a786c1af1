"""The names Temporal knows journeys by are defined once and agree on both sides of the boundary,
and journey authors find everything they need in `workflows`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from temporalio import activity, workflow

import workflows
from activities.journey_support import JourneySupportActivities
from activities.send_message import MessagingActivities
from starter.routing.registry import JourneyRegistry
from tests.helpers.support import TEST_JOURNEY_MODULES
from workflows import names


def test_journey_workflow_ids_keep_their_documented_format() -> None:
    assert names.workflow_id("welcome", "c-42") == "journey/welcome/c-42"
    assert names.workflow_id("abandoned_cart", "c-42", "cart-7") == "journey/abandoned_cart/c-42/cart-7"
    assert names.workflow_id("abandoned_cart", "c-42", "cart-7").startswith(names.journey_prefix("abandoned_cart"))


@pytest.mark.parametrize(
    ("function", "name"),
    [
        (MessagingActivities.send_message, "send_message"),
        (JourneySupportActivities.load_profile, "load_profile"),
        (JourneySupportActivities.resolve_local_time, "resolve_local_time"),
        (JourneySupportActivities.record_conversion, "record_conversion"),
    ],
)
def test_activities_are_registered_under_the_names_journeys_schedule(function: Callable[..., Any], name: str) -> None:
    registered = activity._Definition.must_from_callable(function).name
    assert registered == name
    assert registered in {names.SEND_MESSAGE, names.LOAD_PROFILE, names.RESOLVE_LOCAL_TIME, names.RECORD_CONVERSION}


def test_every_journey_answers_the_event_and_exit_signals_and_the_state_query() -> None:
    for cls in JourneyRegistry.from_modules(TEST_JOURNEY_MODULES).workflows:
        definition = workflow._Definition.must_from_class(cls)
        assert set(definition.signals) == {"event", "exit"}, cls
        assert set(definition.queries) == {"state"}, cls
        assert definition.name == cls.spec.name


def test_journey_authors_import_everything_from_workflows() -> None:
    public = {
        "Journey",
        "journey",
        "Email",
        "Sms",
        "WhatsApp",
        "Push",
        "Webhook",
        "Chat",
        "InApp",
        "Message",
        "Entry",
        "Outcome",
        "JourneyEvent",
        "SendResult",
        "Profile",
        "JourneyState",
        "local_time",
        "QuietHours",
        "HOLDOUT",
        "JourneyDefinitionError",
        "ReEntry",
    }
    assert set(workflows.__all__) == public
    assert all(hasattr(workflows, name) for name in public)
