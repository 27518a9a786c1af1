"""Record the histories replayed by tests/workflows/test_replay.py.

    python -m tests.workflows.record_histories --tag v2 [--journey welcome] [--out DIR]

Run it when a journey is added, or when a journey's new version should be pinned too (`--out`
writes elsewhere, e.g. to try a scenario out); scenarios are played on the journey bench. Files are
named `<journey>.<tag>.<scenario>[.run<N>].json` (one per run of a continue-as-new chain) and
never overwritten: the old ones stand for journeys already running in production, which every
later version must still replay.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client

from starter.testing import JourneyBench, ScriptedEvent
from workflows.experiments import HOLDOUT, assign_variant

HISTORIES = Path(__file__).parent / "histories"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@dataclass
class Scenario:
    """One way through a journey: a trigger, then events at offsets after it."""

    journey: str
    name: str
    trigger: str
    properties: dict[str, Any] = field(default_factory=dict)
    later: list[ScriptedEvent] = field(default_factory=list)  # offsets from the trigger
    profile: dict[str, Any] = field(default_factory=lambda: {"email": "recorded@example.com"})
    variant: tuple[str, list[str], list[float] | None, str] | None = None  # experiment, variants, weights, wanted

    @property
    def script(self) -> list[ScriptedEvent]:
        """The trigger at +0, then the later events."""
        return [ScriptedEvent(timedelta(), self.trigger, self.properties), *self.later]


WINBACK = ("winback_offer", ["discount_20", "free_month", HOLDOUT], [45.0, 45.0, 10.0])
CART = {"cart_id": "k1", "value": 80}

SCENARIOS = [
    Scenario("welcome", "no-activation", "signed_up"),
    Scenario("welcome", "activated-day-1", "signed_up", later=[ScriptedEvent(DAY, "activated")]),
    Scenario("welcome", "unsubscribed-mid-wait", "signed_up", later=[ScriptedEvent(30 * HOUR, "unsubscribed")]),
    Scenario(
        "abandoned_cart", "offer", "cart_updated", CART, profile={"email": "r@example.com", "timezone": "Etc/GMT"}
    ),
    Scenario(
        "abandoned_cart",
        "updated-then-viewed",
        "cart_updated",
        CART,
        later=[
            ScriptedEvent(HOUR / 2, "cart_updated", {"cart_id": "k1", "value": 90}),
            ScriptedEvent(HOUR / 2 + 3 * HOUR, "cart_viewed", {"cart_id": "k1"}),
        ],
    ),
    Scenario(
        "abandoned_cart",
        "ordered",
        "cart_updated",
        CART,
        later=[ScriptedEvent(DAY + 3 * HOUR, "order_placed", {"cart_id": "k1"})],
    ),
    Scenario(
        "nurture", "full-course", "lead_captured", profile={"email": "r@example.com", "timezone": "Europe/Berlin"}
    ),
    Scenario("nurture", "demo-booked", "lead_captured", later=[ScriptedEvent(30 * DAY, "demo_booked")]),
    Scenario("winback", "discount", "customer_lapsed", variant=(*WINBACK, "discount_20")),
    Scenario("winback", "holdout", "customer_lapsed", variant=(*WINBACK, HOLDOUT)),
    Scenario(
        "winback",
        "vip-converted",
        "customer_lapsed",
        later=[ScriptedEvent(2 * DAY, "order_placed")],
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


async def record(scenario: Scenario, bench: JourneyBench) -> list[str]:
    """Play the scenario to its end; the JSON history of each run, first run first."""
    customer_id = customer_for(scenario)
    await bench.customers.upsert(customer_id, scenario.profile)
    trigger, *_ = await bench.play(customer_id, scenario.script)
    (workflow_id,) = trigger.routing.started
    await bench.outcome(workflow_id)
    return await chain_histories(bench.env.client, workflow_id)


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


def file_names(scenario: Scenario, tag: str, runs: int, out: Path) -> list[Path]:
    """Where the scenario's histories go."""
    stem = f"{scenario.journey}.{tag}.{scenario.name}"
    if runs == 1:
        return [out / f"{stem}.json"]
    return [out / f"{stem}.run{number}.json" for number in range(1, runs + 1)]


async def main(tag: str, journeys: set[str] | None, out: Path = HISTORIES) -> None:
    scenarios = [scenario for scenario in SCENARIOS if journeys is None or scenario.journey in journeys]
    taken = sorted(
        path.name for path in out.glob(f"*.{tag}.*.json") if path.name.split(".")[0] in {s.journey for s in scenarios}
    )
    if taken:
        raise SystemExit(f"refusing to overwrite {', '.join(taken)}: pick a new --tag")
    out.mkdir(parents=True, exist_ok=True)
    async with JourneyBench.start(journey_modules=["journeys"]) as bench:
        for scenario in scenarios:
            histories = await record(scenario, bench)
            for path, history in zip(file_names(scenario, tag, len(histories), out), histories, strict=True):
                path.write_text(history)
                print(f"recorded {path.name}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", required=True, help="version tag in the file names, e.g. v2")
    parser.add_argument("--journey", action="append", help="only this journey (repeatable)")
    parser.add_argument("--out", type=Path, default=HISTORIES, help=f"where to write (default {HISTORIES})")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.tag, set(arguments.journey) if arguments.journey else None, arguments.out))
