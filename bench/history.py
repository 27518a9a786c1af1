"""(5) History: events in Temporal's history per journey over each bundled example's whole life.

Each example plays one script under the time-skipping server with the journey bench (the real
router, worker and activities; every channel to the outbox), from a fixed hour (10:00 UTC, so
quiet hours do not move sends), until the journey ends; its length is the sum over every run,
continue-as-new included. The bare reference is `BareShape`, fed the same events at the same
offsets on the same server: it issues the same activities and timers in the same order, and
nothing else, which is the least history Temporal needs for that work.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.worker import Worker

from bench.bare import EVENT_SIGNAL, NOOP_ACTIVITY, BareShape, Step
from bench.figures import Figure, Result
from bench.session import say
from bench.system import load_1min
from starter.config.logs import configure_logging
from starter.testing import JourneyBench, parse_script
from workflows import names

START_HOUR = time(10)


@dataclass(frozen=True)
class Life:
    """One example journey's whole life: who, which script, which instance."""

    journey: str
    script: str
    attributes: dict[str, Any]
    key: str | None = None


LIVES = [
    Life("welcome", "+0 signed_up", {}),
    Life(
        "abandoned_cart",
        '+0 cart_updated {"cart_id": "cart-1", "value": 50}\n+20m cart_updated {"cart_id": "cart-1", "value": 60}',
        {},
        key="cart-1",
    ),
    Life("nurture", "+0 lead_captured", {}),
    Life("winback", "+0 customer_lapsed", {"lifetime_value": 900}),
]


@activity.defn(name=NOOP_ACTIVITY)
async def noop() -> None:
    """The bare reference's activity: nothing to do."""


async def run_histories(client: Client, workflow_id: str) -> list[list[HistoryEvent]]:
    """Every run's events of `workflow_id`'s latest chain, first run first."""
    latest = await client.get_workflow_handle(workflow_id).fetch_history()
    run_id: str | None = latest.events[0].workflow_execution_started_event_attributes.first_execution_run_id
    runs: list[list[HistoryEvent]] = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        runs.append(list(history.events))
        last = history.events[-1]
        run_id = None
        if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return runs


def shape_of(runs: list[list[HistoryEvent]]) -> list[Step]:
    """The activities and timers a journey's runs issued, in order, as `BareShape` steps."""
    steps: list[Step] = []
    for events in runs:
        fired = {
            event.timer_fired_event_attributes.started_event_id
            for event in events
            if event.event_type == EventType.EVENT_TYPE_TIMER_FIRED
        }
        for event in events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                steps.append(["activity"])
            elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and "local_activity" in (
                event.marker_recorded_event_attributes.marker_name
            ):
                steps.append(["local_activity"])
            elif event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                seconds = event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
                steps.append(["sleep" if event.event_id in fired else "wait", seconds])
    return steps


async def next_start(bench: JourneyBench) -> datetime:
    """The next START_HOUR (UTC) on the bench's clock."""
    now = await bench.now()
    moment = datetime.combine(now.date(), START_HOUR, tzinfo=now.tzinfo)
    return moment if moment > now else moment + timedelta(days=1)


async def play_bare(bench: JourneyBench, task_queue: str, life: Life, steps: list[Step]) -> list[int]:
    """Play the life's script against `BareShape(steps)`; its history length per run."""
    script = parse_script(life.script)
    await bench.advance_to(await next_start(bench))
    start = await bench.now()
    workflow_id = f"bare/shape/{life.journey}/{uuid.uuid4().hex[:8]}"
    client = bench.env.client
    handle = await client.start_workflow(
        BareShape.run,
        steps,
        id=workflow_id,
        task_queue=task_queue,
        start_signal=EVENT_SIGNAL,
        start_signal_args=[script[0].name],
    )
    for scripted in script[1:]:
        await bench.advance_to(start + scripted.offset)
        await handle.signal(EVENT_SIGNAL, scripted.name)
    await handle.result()  # the time-skipping server skips time while it is awaited
    return [len(events) for events in await run_histories(client, workflow_id)]


async def run() -> Result:
    """Play every example on both sides; one figure per example."""
    configure_logging("dev", "WARNING")  # the bench's worker runs in this process: keep its sends quiet
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    bare_queue = f"bench-bare-shape-{uuid.uuid4().hex[:8]}"
    async with (
        JourneyBench.start() as bench,
        Worker(bench.env.client, task_queue=bare_queue, workflows=[BareShape], activities=[noop]),
    ):
        for life in LIVES:
            say(f"history: {life.journey}")
            load = load_1min()
            customer = await bench.customer(f"h-{life.journey}", attributes=life.attributes)
            await bench.play(customer, parse_script(life.script), since=await next_start(bench))
            workflow_id = names.workflow_id(life.journey, customer, life.key)
            await bench.outcome(workflow_id)
            runs = await run_histories(bench.env.client, workflow_id)
            steps = shape_of(runs)
            bare_runs = await play_bare(bench, bare_queue, life, steps)
            figure = Figure(f"{life.journey}: history events over its life", "events", better="lower")
            figure.add("overture", 1, sum(len(events) for events in runs), load)
            figure.add("bare", 1, sum(bare_runs), load)
            figures.append(figure)
            details[life.journey] = {
                "script": life.script,
                "overture_runs": [len(events) for events in runs],
                "bare_runs": bare_runs,
                "activities": sum(1 for step in steps if step[0] == "activity"),
                "local_activities": sum(1 for step in steps if step[0] == "local_activity"),
                "timers": sum(1 for step in steps if step[0] in ("sleep", "wait")),
            }
            say(f"  {life.journey}: {figure.overture[0].value:.0f} events (bare {figure.bare[0].value:.0f})")
    return Result("history", figures, details)
