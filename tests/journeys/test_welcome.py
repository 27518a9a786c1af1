"""The welcome journey under the time-skipping server: days pass in milliseconds.

Events go through the real router (it starts the journey on the trigger and signals the running
journey for the rest); sends
go through the real activity into a real SQLite database with the outbox provider.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata

from starter.testing import JourneyBench
from workflows import Journey, JourneyEvent, names, search


def welcome(customer_id: str) -> str:
    return names.workflow_id("welcome", customer_id)


async def test_reminder_goes_out_after_two_days_without_activation(bench: JourneyBench) -> None:
    ada = await bench.customer(attributes={"first_name": "Ada"})
    await bench.event(ada, "signed_up", plan="pro")

    outcome = await bench.outcome(welcome(ada))

    assert outcome.status == "completed"
    assert await bench.sent(ada) == ["welcome", "welcome_reminder"]
    first, reminder = (await bench.timeline(welcome(ada))).sends
    assert reminder.at - first.at >= timedelta(days=2)
    greeting = (await bench.outbox(ada))[0]
    assert greeting.subject == "Welcome, Ada!" and "pro plan" in greeting.text


async def test_team_plan_customers_get_the_team_setup_reminder(bench: JourneyBench) -> None:
    team = await bench.customer(attributes={"plan": "team", "company": "Initech"})
    await bench.event(team, "signed_up")

    await bench.outcome(welcome(team))

    assert await bench.sent(team) == ["welcome", "welcome_team_setup"]
    assert (await bench.outbox(team))[1].subject == "Bring your team in to Initech"


async def test_reminder_falls_back_to_sms_when_email_is_gone(bench: JourneyBench) -> None:
    customer = await bench.customer(phone="+4915123456789")
    await bench.event(customer, "signed_up")
    await bench.sleep(timedelta(days=1))
    await bench.customers.upsert(customer, {"email": None})  # e.g. the address bounced meanwhile

    assert (await bench.outcome(welcome(customer))).status == "completed"
    rows = await bench.deliveries(customer)
    assert [(row.template, row.channel, row.status) for row in rows] == [
        ("welcome", "email", "sent"),
        ("welcome_reminder", "email", "skipped"),
        ("welcome_reminder", "sms", "sent"),
    ]


async def test_no_reminder_when_activated_on_day_one(bench: JourneyBench) -> None:
    customer = await bench.customer()
    await bench.event(customer, "signed_up")
    await bench.sleep(timedelta(days=1))
    await bench.event(customer, "activated")

    assert (await bench.outcome(welcome(customer))).status == "completed"
    assert await bench.sent(customer) == ["welcome"]


async def test_activation_before_the_wait_still_counts(idle_bench: JourneyBench) -> None:
    # `activated` arrives before the journey reaches its wait (here: before it even ran a step).
    customer = await idle_bench.customer()
    await idle_bench.event(customer, "signed_up")
    await idle_bench.event(customer, "activated")

    async with idle_bench.worker():
        assert (await idle_bench.outcome(welcome(customer))).status == "completed"
    assert await idle_bench.sent(customer) == ["welcome"]


async def test_unsubscribed_mid_wait_ends_the_journey_at_once(bench: JourneyBench) -> None:
    customer = await bench.customer()
    await bench.event(customer, "signed_up")
    await bench.sleep(timedelta(days=1))
    await bench.event(customer, "unsubscribed")

    outcome = await bench.outcome(welcome(customer))

    assert (outcome.status, outcome.reason, outcome.step) == ("exited", "unsubscribed", "wait_for:activated")
    assert await bench.sent(customer) == ["welcome"]
    signalled_at = completed_at = None
    async for event in bench.handle(welcome(customer)).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            signalled_at = event.event_time.ToDatetime()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            completed_at = event.event_time.ToDatetime()
    assert signalled_at is not None and completed_at is not None
    assert completed_at - signalled_at < timedelta(minutes=1)  # not the 2-day timer


async def test_operator_exit_signal_ends_the_journey(bench: JourneyBench) -> None:
    customer = await bench.customer()
    await bench.event(customer, "signed_up")
    await bench.sleep(timedelta(hours=3))
    await bench.handle(welcome(customer)).signal(Journey.on_operator_exit, "customer asked support to stop")

    outcome = await bench.outcome(welcome(customer))

    assert (outcome.status, outcome.reason) == ("exited", "customer asked support to stop")
    assert await bench.sent(customer) == ["welcome"]


async def test_operators_see_step_and_state(bench: JourneyBench) -> None:
    customer = await bench.customer()
    await bench.event(customer, "signed_up")
    await bench.sleep(timedelta(hours=1))
    handle = bench.handle(welcome(customer))

    state = await bench.state(welcome(customer))
    description = await handle.describe()
    ui = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)

    assert state.step == "wait_for:activated" and state.waiting_for == ["activated"]
    assert [send.status for send in state.sends] == ["sent"]
    assert ui.current_details.startswith("**welcome** · Waiting for activated until ")
    assert {signal.name for signal in ui.definition.signal_definitions} == {"event", "exit"}
    attributes = description.typed_search_attributes
    assert attributes.get(search.CUSTOMER_ID) == customer
    assert attributes.get(search.JOURNEY_NAME) == "welcome"
    assert attributes.get(search.JOURNEY_STEP) == "wait_for:activated"

    await bench.event(customer, "activated")
    await bench.outcome(welcome(customer))
    finished = await handle.describe()
    assert finished.typed_search_attributes.get(search.JOURNEY_STEP) == "end:completed"


async def test_repeated_event_ids_are_ignored(bench: JourneyBench) -> None:
    customer = await bench.customer()
    await bench.event(customer, "signed_up")
    handle = bench.handle(welcome(customer))
    activated = JourneyEvent(id="activated-1", name="activated")
    await handle.signal(Journey.on_event, activated)
    await handle.signal(Journey.on_event, activated)  # delivered twice, heard once

    assert (await bench.outcome(welcome(customer))).status == "completed"
    assert await bench.sent(customer) == ["welcome"]
    assert (await bench.state(welcome(customer))).step == "end:completed"


async def test_customer_without_any_address_fails_to_be_reached(bench: JourneyBench) -> None:
    customer = await bench.customer(email=None)
    await bench.event(customer, "signed_up")

    outcome = await bench.outcome(welcome(customer))

    assert outcome.status == "failed_to_reach"
    rows = await bench.deliveries(customer)
    assert [(row.template, row.channel, row.status, row.skip_reason) for row in rows] == [
        ("welcome", "email", "skipped", "no_address"),
        ("welcome_reminder", "email", "skipped", "no_address"),
        ("welcome_reminder", "sms", "skipped", "no_address"),
    ]
