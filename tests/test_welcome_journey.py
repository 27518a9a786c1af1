"""The welcome journey under the time-skipping server: days pass in milliseconds.

Events go through the real router (signal-with-start for the trigger, signal for the rest); sends
go through the real activity into a real SQLite database with the outbox provider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import select
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.customers import CustomerStore
from activities.database import Database
from activities.entries import EntryLedger
from activities.tables import Delivery, OutboxMessage, new_id
from starter.registry import JourneyRegistry
from starter.router import EventRouter
from starter.settings import Settings
from worker import build_worker
from workflows import search
from workflows.types import JourneyEvent, JourneyState, Outcome


class WelcomeHarness:
    """A worker on the time-skipping server plus the router, for one customer."""

    def __init__(self, env: WorkflowEnvironment, router: EventRouter, database: Database, customer_id: str) -> None:
        self.env = env
        self.router = router
        self.database = database
        self.customer_id = customer_id

    async def event(self, name: str, **properties: object) -> JourneyEvent:
        event = JourneyEvent(id=new_id(), name=name, properties=dict(properties))
        await self.router.route(self.customer_id, event)
        return event

    def handle(self) -> WorkflowHandle[object, Outcome]:
        return self.env.client.get_workflow_handle(f"journey/welcome/{self.customer_id}", result_type=Outcome)

    async def outcome(self) -> Outcome:
        """The journey's result, letting the server skip time while we wait for it."""
        async with self.env.time_skipping_unlocked():  # type: ignore[attr-defined]
            return await self.handle().result()

    async def sent_templates(self) -> list[str]:
        async with self.database.session() as session:
            rows = await session.exec(
                select(Delivery).where(Delivery.customer_id == self.customer_id).order_by(Delivery.id)  # type: ignore[arg-type]
            )
            return [row.template for row in rows if row.status == "sent"]


@pytest.fixture
async def idle_harness(
    time_skipping_env: WorkflowEnvironment, settings: Settings, registry: JourneyRegistry, database: Database
) -> WelcomeHarness:
    """A harness whose worker is not running yet: events queue up in Temporal."""
    customer_id = f"c-{new_id()[:8]}"
    await CustomerStore(database).upsert(customer_id, {"email": "ada@example.com", "attributes": {"first_name": "Ada"}})
    router = EventRouter(time_skipping_env.client, registry, settings.task_queue, EntryLedger(database))
    return WelcomeHarness(time_skipping_env, router, database, customer_id)


@pytest.fixture
async def harness(
    idle_harness: WelcomeHarness, settings: Settings, registry: JourneyRegistry, database: Database
) -> AsyncIterator[WelcomeHarness]:
    """A harness with its worker running."""
    async with build_worker(idle_harness.env.client, settings, registry, database):
        yield idle_harness


async def _send_times(handle: WorkflowHandle[object, Outcome]) -> list[float]:
    """Workflow-clock seconds at which each send activity was scheduled."""
    times = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            times.append(event.event_time.ToDatetime().timestamp())
    return times


async def test_reminder_goes_out_after_two_days_without_activation(harness: WelcomeHarness) -> None:
    await harness.event("signed_up", plan="pro")

    outcome = await harness.outcome()

    assert outcome.status == "completed"
    assert await harness.sent_templates() == ["welcome", "welcome_reminder"]
    welcome_at, reminder_at = await _send_times(harness.handle())
    assert timedelta(seconds=reminder_at - welcome_at) >= timedelta(days=2)
    async with harness.database.session() as session:
        welcome = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.customer_id == harness.customer_id))
        ).first()
    assert welcome is not None and welcome.subject == "Welcome, Ada!" and "pro plan" in welcome.text


async def test_no_reminder_when_activated_on_day_one(harness: WelcomeHarness) -> None:
    await harness.event("signed_up")
    await harness.env.sleep(timedelta(days=1))
    await harness.event("activated")

    outcome = await harness.outcome()

    assert outcome.status == "completed"
    assert await harness.sent_templates() == ["welcome"]


async def test_activation_before_the_wait_still_counts(
    idle_harness: WelcomeHarness, settings: Settings, registry: JourneyRegistry, database: Database
) -> None:
    # `activated` arrives before the journey reaches its wait (here: before it even ran a step).
    await idle_harness.event("signed_up")
    await idle_harness.event("activated")

    async with build_worker(idle_harness.env.client, settings, registry, database):
        assert (await idle_harness.outcome()).status == "completed"
    assert await idle_harness.sent_templates() == ["welcome"]


async def test_unsubscribed_mid_wait_ends_the_journey_at_once(harness: WelcomeHarness) -> None:
    await harness.event("signed_up")
    await harness.env.sleep(timedelta(days=1))
    await harness.event("unsubscribed")

    outcome = await harness.outcome()

    assert outcome.status == "exited"
    assert outcome.reason == "unsubscribed"
    assert outcome.step == "wait_for:activated"
    assert await harness.sent_templates() == ["welcome"]
    signalled_at = completed_at = None
    async for event in harness.handle().fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED and (
            event.workflow_execution_signaled_event_attributes.signal_name == "event"
        ):
            signalled_at = event.event_time.ToDatetime()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            completed_at = event.event_time.ToDatetime()
    assert signalled_at is not None and completed_at is not None
    assert completed_at - signalled_at < timedelta(minutes=1)  # not the 2-day timer


async def test_operator_exit_signal_ends_the_journey(harness: WelcomeHarness) -> None:
    await harness.event("signed_up")
    await harness.env.sleep(timedelta(hours=3))
    await harness.handle().signal("exit", "customer asked support to stop")

    outcome = await harness.outcome()

    assert (outcome.status, outcome.reason) == ("exited", "customer asked support to stop")
    assert await harness.sent_templates() == ["welcome"]


async def test_operators_see_step_and_state(harness: WelcomeHarness) -> None:
    await harness.event("signed_up")
    await harness.env.sleep(timedelta(hours=1))

    state = await harness.handle().query("state", result_type=JourneyState)
    description = await harness.handle().describe()
    ui = await harness.handle().query("__temporal_workflow_metadata", result_type=WorkflowMetadata)

    assert state.step == "wait_for:activated" and state.waiting_for == ["activated"]
    assert [send.status for send in state.sends] == ["sent"]
    assert ui.current_details.startswith("**welcome** · Waiting for activated until ")
    assert {signal.name for signal in ui.definition.signal_definitions} == {"event", "exit"}
    attributes = description.typed_search_attributes
    assert attributes.get(search.CUSTOMER_ID) == harness.customer_id
    assert attributes.get(search.JOURNEY_NAME) == "welcome"
    assert attributes.get(search.JOURNEY_STEP) == "wait_for:activated"

    await harness.event("activated")
    await harness.outcome()
    finished = await harness.handle().describe()
    assert finished.typed_search_attributes.get(search.JOURNEY_STEP) == "end:completed"


async def test_repeated_event_ids_are_ignored(harness: WelcomeHarness) -> None:
    trigger = await harness.event("signed_up")
    await harness.handle().signal("event", trigger)  # the same event delivered again
    activated = JourneyEvent(id="activated-1", name="activated")
    await harness.handle().signal("event", activated)
    await harness.handle().signal("event", activated)

    assert (await harness.outcome()).status == "completed"
    assert await harness.sent_templates() == ["welcome"]
    state = await harness.handle().query("state", result_type=JourneyState)
    assert state.step == "end:completed"


async def test_customer_without_email_fails_to_be_reached(harness: WelcomeHarness) -> None:
    await CustomerStore(harness.database).upsert(harness.customer_id, {"email": None})
    await harness.event("signed_up")

    outcome = await harness.outcome()

    assert outcome.status == "failed_to_reach"
    async with harness.database.session() as session:
        rows = (await session.exec(select(Delivery).where(Delivery.customer_id == harness.customer_id))).all()
    assert [(row.template, row.status, row.skip_reason) for row in rows] == [
        ("welcome", "skipped", "no_address"),
        ("welcome_reminder", "skipped", "no_address"),
    ]
