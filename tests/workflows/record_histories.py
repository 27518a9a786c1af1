"""Record the histories replayed by tests/test_replay.py.

    python -m tests.workflows.record_histories --tag v2 [--journey welcome]

Run it when a journey is added, or when a journey's new version should be pinned too. Files are
named `<journey>.<tag>.<scenario>[.run<N>].json` (one per run of a continue-as-new chain) and
never overwritten: the old ones stand for journeys already running in production, which every
later version must still replay.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.entries import EntryLedger
from activities.store.tables import new_id
from starter.routing.registry import JourneyRegistry
from starter.routing.router import EventRouter
from starter.runtime.worker import build_worker
from starter.testing.server import start_time_skipping_server
from tests.helpers.support import make_settings
from workflows.experiments import HOLDOUT, assign_variant
from workflows.types import JourneyEvent

HISTORIES = Path(__file__).parent / "histories"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@dataclass
class Scenario:
    """One way through a journey: a trigger, then events at offsets after it."""

    journey: str
    name: str
    trigger: str
    properties: dict[str, Any] = field(default_factory=dict)
    later: list[tuple[timedelta, str, dict[str, Any]]] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=lambda: {"email": "recorded@example.com"})
    variant: tuple[str, list[str], list[float] | None, str] | None = None  # experiment, variants, weights, wanted


WINBACK = ("winback_offer", ["discount_20", "free_month", HOLDOUT], [45.0, 45.0, 10.0])
CART = {"cart_id": "k1", "value": 80}

SCENARIOS = [
    Scenario("welcome", "no-activation", "signed_up"),
    Scenario("welcome", "activated-day-1", "signed_up", later=[(DAY, "activated", {})]),
    Scenario("welcome", "unsubscribed-mid-wait", "signed_up", later=[(30 * HOUR, "unsubscribed", {})]),
    Scenario(
        "abandoned_cart", "offer", "cart_updated", CART, profile={"email": "r@example.com", "timezone": "Etc/GMT"}
    ),
    Scenario(
        "abandoned_cart",
        "updated-then-viewed",
        "cart_updated",
        CART,
        later=[
            (HOUR / 2, "cart_updated", {"cart_id": "k1", "value": 90}),
            (3 * HOUR, "cart_viewed", {"cart_id": "k1"}),
        ],
    ),
    Scenario(
        "abandoned_cart", "ordered", "cart_updated", CART, later=[(DAY + 3 * HOUR, "order_placed", {"cart_id": "k1"})]
    ),
    Scenario(
        "nurture", "full-course", "lead_captured", profile={"email": "r@example.com", "timezone": "Europe/Berlin"}
    ),
    Scenario("nurture", "demo-booked", "lead_captured", later=[(30 * DAY, "demo_booked", {})]),
    Scenario("winback", "discount", "customer_lapsed", variant=(*WINBACK, "discount_20")),
    Scenario("winback", "holdout", "customer_lapsed", variant=(*WINBACK, HOLDOUT)),
    Scenario(
        "winback",
        "vip-converted",
        "customer_lapsed",
        later=[(2 * DAY, "order_placed", {})],
        profile={"email": "r@example.com", "attributes": {"lifetime_value": 900}},
        variant=(*WINBACK, "free_month"),
    ),
]


def customer_for(scenario: Scenario) -> str:
    """A customer id for the scenario, one that lands in the wanted experiment variant."""
    base = f"recorded-{scenario.journey}-{scenario.name}"
    if scenario.variant is None:
        return base
    experiment, variants, weights, wanted = scenario.variant
    return next(
        candidate
        for candidate in (f"{base}-{n}" for n in itertools.count())
        if assign_variant(candidate, experiment, variants, weights) == wanted
    )


async def record(scenario: Scenario, env: WorkflowEnvironment, router: EventRouter, database: Database) -> list[str]:
    """Play the scenario to its end; the JSON history of each run, first run first."""
    customer_id = customer_for(scenario)
    await CustomerStore(database).upsert(customer_id, scenario.profile)
    routing = await router.route(
        customer_id, JourneyEvent(id=new_id(), name=scenario.trigger, properties=scenario.properties)
    )
    (workflow_id,) = routing.started
    for offset, name, properties in scenario.later:
        await env.sleep(offset)
        await router.route(customer_id, JourneyEvent(id=new_id(), name=name, properties=properties))
    async with env.time_skipping_unlocked():  # type: ignore[attr-defined]
        await env.client.get_workflow_handle(workflow_id).result()
    return await chain_histories(env.client, workflow_id)


async def chain_histories(client: Client, workflow_id: str) -> list[str]:
    """Every run of the workflow's continue-as-new chain, as JSON histories."""
    latest = await client.get_workflow_handle(workflow_id).fetch_history()
    run_id: str | None = latest.events[0].workflow_execution_started_event_attributes.first_execution_run_id
    histories = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(history.to_json())
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else None
        )
    return histories


def file_names(scenario: Scenario, tag: str, runs: int) -> list[Path]:
    """Where the scenario's histories go."""
    stem = f"{scenario.journey}.{tag}.{scenario.name}"
    if runs == 1:
        return [HISTORIES / f"{stem}.json"]
    return [HISTORIES / f"{stem}.run{number}.json" for number in range(1, runs + 1)]


async def main(tag: str, journeys: set[str] | None) -> None:
    scenarios = [scenario for scenario in SCENARIOS if journeys is None or scenario.journey in journeys]
    taken = sorted(
        path.name
        for path in HISTORIES.glob(f"*.{tag}.*.json")
        if path.name.split(".")[0] in {s.journey for s in scenarios}
    )
    if taken:
        raise SystemExit(f"refusing to overwrite {', '.join(taken)}: pick a new --tag")
    registry = JourneyRegistry.from_modules(["journeys"])
    with tempfile.TemporaryDirectory() as state:
        settings = make_settings(Path(state), journey_modules=["journeys"])
        database = Database(settings.database_url)
        await database.create_tables()
        env = await start_time_skipping_server()
        try:
            router = EventRouter(env.client, registry, settings.task_queue, EntryLedger(database))
            async with build_worker(env.client, settings, registry, database):
                for scenario in scenarios:
                    histories = await record(scenario, env, router, database)
                    for path, history in zip(file_names(scenario, tag, len(histories)), histories, strict=True):
                        path.write_text(history)
                        print(f"recorded {path.name}")
        finally:
            await env.shutdown()
            await database.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", required=True, help="version tag in the file names, e.g. v2")
    parser.add_argument("--journey", action="append", help="only this journey (repeatable)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.tag, set(arguments.journey) if arguments.journey else None))
