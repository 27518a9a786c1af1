"""The journey language, feature by feature, on the time-skipping server (journeys in tests/journeys/lab.py)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.worker import Worker

from starter.config.settings import Settings
from starter.routing.registry import JourneyRegistry
from starter.routing.router import EntryRefused
from starter.runtime.activities import journey_activities, workflow_only_activities
from starter.testing import JourneyBench
from tests.helpers.support import eventually
from workflows.experiments import assign_variant
from workflows.names import workflow_id

# ----- goals and exits ---------------------------------------------------------------------------


async def test_a_goal_mid_wait_converts_at_once_and_records_the_conversion(bench: JourneyBench) -> None:
    customer = await bench.customer()
    await bench.event(customer, "lab_goal_started")
    await bench.sleep(timedelta(days=1))
    await bench.event(customer, "lab_goal", order="o-1")

    outcome = await bench.outcome(workflow_id("goal_lab", customer))

    variant = assign_variant(customer, "lab_copy", ["short", "long"], None)
    assert (outcome.status, outcome.reason, outcome.step) == ("converted", "lab_goal", "wait:3d")
    assert outcome.variant == f"lab_copy={variant}"
    (conversion,) = await bench.conversions(customer)
    assert (conversion.journey, conversion.goal, conversion.step, conversion.variant) == (
        "goal_lab",
        "lab_goal",
        "wait:3d",
        f"lab_copy={variant}",
    )
    timeline = await bench.timeline(workflow_id("goal_lab", customer))
    assert timeline.moments[-1].at - timeline.sends[0].at < timedelta(days=2)  # not after the 3-day timer
    assert [row.variant for row in await bench.deliveries(customer)] == [f"lab_copy={variant}"]


async def test_an_exit_event_mid_wait_ends_without_a_conversion(bench: JourneyBench) -> None:
    customer = await bench.customer()
    await bench.event(customer, "lab_goal_started")
    await bench.sleep(timedelta(days=2))
    await bench.event(customer, "lab_stop")

    outcome = await bench.outcome(workflow_id("goal_lab", customer))

    assert (outcome.status, outcome.reason) == ("exited", "lab_stop")
    assert await bench.conversions(customer) == []
    assert await bench.sent(customer) == ["welcome"]


async def test_an_exit_during_a_send_in_flight_still_ends_as_exited(
    private_bench: JourneyBench, settings: Settings, registry: JourneyRegistry
) -> None:
    bench = private_bench  # it strands an activity: a server of its own
    customer = await bench.customer()
    await bench.event(customer, "lab_goal_started")
    # A worker without activities: the journey's first send is scheduled and stays in flight.
    async with Worker(
        bench.env.client, task_queue=settings.task_queue, workflows=registry.workflows, **workflows_only(bench)
    ):
        await eventually(lambda: _step_is(bench, workflow_id("goal_lab", customer), "send:welcome"))
        await bench.event(customer, "lab_stop")
        outcome = await bench.outcome(workflow_id("goal_lab", customer))

    assert (outcome.status, outcome.reason, outcome.step) == ("exited", "lab_stop", "send:welcome")


async def test_an_exit_and_a_send_finishing_in_the_same_activation_end_the_journey(
    private_bench: JourneyBench, settings: Settings, registry: JourneyRegistry
) -> None:
    bench = private_bench  # it strands an activity: a server of its own
    # The exit signal and the send's completion reach the journey in one activation: the cancel
    # of the journey body meets an activity that already has its result.
    customer = await bench.customer()
    await bench.event(customer, "lab_goal_started")
    journey_id = workflow_id("goal_lab", customer)
    client, queue = bench.env.client, settings.task_queue
    # No workflow cache, so no sticky queue: the last worker gets the task with both events.
    async with Worker(
        client, task_queue=queue, workflows=registry.workflows, max_cached_workflows=0, **workflows_only(bench)
    ):
        await eventually(lambda: _step_is(bench, journey_id, "send:welcome"))
    await bench.event(customer, "lab_stop")
    async with Worker(client, task_queue=queue, activities=journey_activities(bench.settings, bench.stores)):
        await eventually(lambda: bench.sent(customer))

    async with Worker(
        client, task_queue=queue, workflows=registry.workflows, max_cached_workflows=0, **workflows_only(bench)
    ):
        outcome = await bench.outcome(journey_id)

    assert (outcome.status, outcome.reason, outcome.step) == ("exited", "lab_stop", "send:welcome")
    assert await bench.sent(customer) == ["welcome"]
    assert (await bench.timeline(journey_id)).steps[-1] == "end:exited"


async def _step_is(bench: JourneyBench, workflow_id: str, step: str) -> bool:
    return (await bench.state(workflow_id)).step == step


async def test_the_first_of_a_goal_and_an_exit_decides(bench: JourneyBench) -> None:
    customer = await bench.customer()
    await bench.event(customer, "lab_goal_started")
    await bench.sleep(timedelta(hours=5))
    await bench.event(customer, "lab_stop")
    await bench.event(customer, "lab_goal")

    outcome = await bench.outcome(workflow_id("goal_lab", customer))

    assert outcome.status == "exited"
    assert await bench.conversions(customer) == []


# ----- waiting for behaviour -----------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "template"), [("lab_no", "welcome_reminder"), ("lab_yes", "welcome")])
async def test_wait_for_returns_whichever_event_came_first_with_its_properties(
    bench: JourneyBench, answer: str, template: str
) -> None:
    customer = await bench.customer()
    await bench.event(customer, "lab_choice")
    await bench.sleep(timedelta(hours=3))
    await bench.event(customer, answer, seats=5)

    await bench.outcome(workflow_id("choice_lab", customer))

    (send,) = (await bench.timeline(workflow_id("choice_lab", customer))).sends
    assert send.request.template == template and send.request.data["data"] == {"seats": 5}


async def test_wait_for_times_out_with_none(bench: JourneyBench) -> None:
    customer = await bench.customer()
    await bench.event(customer, "lab_choice")

    assert (await bench.outcome(workflow_id("choice_lab", customer))).status == "completed"
    assert await bench.deliveries(customer) == []


# ----- re-entry ----------------------------------------------------------------------------------


async def test_once_never_lets_a_customer_in_twice(bench: JourneyBench) -> None:
    customer = await bench.customer()
    first = await bench.event(customer, "lab_once")
    await bench.outcome(workflow_id("once_lab", customer))

    again = await bench.event(customer, "lab_once")

    assert first.started == [workflow_id("once_lab", customer)]
    assert again.started == [] and again.signalled == []
    spec = bench.router._registry.get("once_lab").spec  # type: ignore[union-attr]
    with pytest.raises(EntryRefused, match="re-entry: once"):
        await bench.router.enter(spec, customer, {})


async def test_after_exit_re_enters_only_once_the_run_ended(bench: JourneyBench) -> None:
    customer = await bench.customer()
    first = await bench.event(customer, "lab_after_exit")
    during = await bench.event(customer, "lab_after_exit")
    await bench.outcome(workflow_id("after_exit_lab", customer))
    after = await bench.event(customer, "lab_after_exit")

    assert first.started == [workflow_id("after_exit_lab", customer)]
    assert during.started == [] and during.signalled == [workflow_id("after_exit_lab", customer)]
    assert after.started == [workflow_id("after_exit_lab", customer)]
    assert (await bench.outcome(workflow_id("after_exit_lab", customer))).status == "completed"


async def test_always_starts_instances_side_by_side_and_keyless_exits_reach_all(bench: JourneyBench) -> None:
    customer = await bench.customer()
    first = await bench.event(customer, "lab_always")
    second = await bench.event(customer, "lab_always")

    stop = await bench.event(customer, "lab_stop_all")

    instances = [*first.started, *second.started]
    assert len(instances) == 2 and len(set(instances)) == 2
    assert sorted(stop.signalled) == sorted(instances)
    for instance in instances:
        assert (await bench.outcome(instance)).status == "exited"


# ----- time --------------------------------------------------------------------------------------


def workflows_only(bench: JourneyBench) -> dict[str, Any]:
    """Worker options for one that runs journeys but no (remote) activity: their sends stay in
    flight until another worker takes them."""
    return {"activities": workflow_only_activities(bench.stores), "no_remote_activities": True}


def zone_at_local_hour(now: datetime, hour: int) -> str:
    """A fixed-offset zone in which `now` reads `hour` o'clock (Etc/GMT signs are inverted)."""
    offset = (hour - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


async def test_quiet_hours_hold_marketing_until_morning_but_not_transactional(bench: JourneyBench) -> None:
    zone = zone_at_local_hour(await bench.now(), 23)
    customer = await bench.customer(timezone=zone)
    await bench.event(customer, "lab_quiet")

    assert (await bench.outcome(workflow_id("quiet_lab", customer))).status == "completed"

    transactional, marketing = (await bench.timeline(workflow_id("quiet_lab", customer))).sends
    local = ZoneInfo(zone)
    assert transactional.at.astimezone(local).hour == 23
    assert (marketing.at.astimezone(local).hour, marketing.at.astimezone(local).minute) == (8, 0)
    assert marketing.at - transactional.at < timedelta(hours=10)
    assert await bench.sent(customer) == ["welcome", "welcome_reminder"]


@pytest.mark.parametrize("weekday", [None, "tue", "sat"])
async def test_wait_until_a_local_time_and_weekday(bench: JourneyBench, weekday: str | None) -> None:
    customer = await bench.customer(timezone="Asia/Kolkata")
    properties = {"weekday": weekday} if weekday else {}
    await bench.event(customer, "lab_clock", **properties)

    await bench.outcome(workflow_id("clock_lab", customer))

    (send,) = (await bench.timeline(workflow_id("clock_lab", customer))).sends
    local = send.at.astimezone(ZoneInfo("Asia/Kolkata"))
    assert (local.hour, local.minute) == (9, 0)
    if weekday:
        assert local.strftime("%a").lower() == weekday
    assert send.at - (await bench.timeline(workflow_id("clock_lab", customer))).started_at <= timedelta(days=7)  # type: ignore[operator]


async def test_a_customer_without_a_zone_uses_the_default(bench: JourneyBench) -> None:
    customer = await bench.customer()
    await bench.event(customer, "lab_clock")

    await bench.outcome(workflow_id("clock_lab", customer))

    (send,) = (await bench.timeline(workflow_id("clock_lab", customer))).sends
    assert (send.at.hour, send.at.minute) == (9, 0)  # OVERTURE_DEFAULT_TIMEZONE is UTC


# ----- long journeys -----------------------------------------------------------------------------


async def test_continue_as_new_keeps_events_variants_and_outcome(bench: JourneyBench) -> None:
    customer = await bench.customer()
    await bench.event(customer, "lab_loop")
    for _ in range(7):
        await bench.sleep(timedelta(hours=1))
        await bench.event(customer, "lab_tick")

    outcome = await bench.outcome(workflow_id("loop_lab", customer))

    timeline = await bench.timeline(workflow_id("loop_lab", customer))
    variant = f"lab_loop_copy={assign_variant(customer, 'lab_loop_copy', ['a', 'b'], None)}"
    assert outcome.status == "completed" and outcome.variant == variant
    assert len(timeline.history_lengths) == 3  # runs of 3, 3 and 1 ticks
    assert len(timeline.sends) == 7 and {send.request.variant for send in timeline.sends} == {variant}
    assert Counter(row.status for row in await bench.deliveries(customer)) == {"sent": 7}


async def test_events_that_arrive_around_a_continue_as_new_are_not_lost(bench: JourneyBench) -> None:
    customer = await bench.customer()
    await bench.event(customer, "lab_loop")
    for _ in range(7):  # all at once: several are still unread when the run continues as new
        await bench.event(customer, "lab_tick")

    assert (await bench.outcome(workflow_id("loop_lab", customer))).status == "completed"
    assert len(await bench.sent(customer)) == 7
