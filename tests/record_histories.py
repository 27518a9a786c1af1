"""Record the histories replayed by tests/test_replay.py.

    python -m tests.record_histories --tag v2 [--journey welcome]

Run it when a journey is added, or when a journey's new version should be pinned too. Files are
named `<journey>.<tag>.<scenario>.json` and never overwritten: the old ones stand for journeys
already running in production, which every later version must still replay.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.customers import CustomerStore
from activities.database import Database
from activities.entries import EntryLedger
from activities.tables import new_id
from starter.registry import JourneyRegistry
from starter.router import EventRouter
from starter.temporal_server import installed_binary, register_search_attributes
from tests.support import make_settings
from worker import build_worker
from workflows.types import JourneyEvent

HISTORIES = Path(__file__).parent / "histories"


@dataclass
class Scenario:
    """One way through a journey: events sent at offsets after the trigger."""

    journey: str
    name: str
    trigger: str
    later: list[tuple[timedelta, str]]


SCENARIOS = [
    Scenario("welcome", "no-activation", "signed_up", []),
    Scenario("welcome", "activated-day-1", "signed_up", [(timedelta(days=1), "activated")]),
    Scenario("welcome", "unsubscribed-mid-wait", "signed_up", [(timedelta(hours=30), "unsubscribed")]),
]


async def record(scenario: Scenario, env: WorkflowEnvironment, router: EventRouter, database: Database) -> str:
    customer_id = f"recorded-{scenario.name}"
    await CustomerStore(database).upsert(customer_id, {"email": "recorded@example.com"})
    await router.route(customer_id, JourneyEvent(id=new_id(), name=scenario.trigger))
    for offset, name in scenario.later:
        await env.sleep(offset)
        await router.route(customer_id, JourneyEvent(id=new_id(), name=name))
    handle = env.client.get_workflow_handle(f"journey/{scenario.journey}/{customer_id}")
    async with env.time_skipping_unlocked():  # type: ignore[attr-defined]
        await handle.result()
    return (await handle.fetch_history()).to_json()


async def main(tag: str, journeys: set[str] | None) -> None:
    scenarios = [scenario for scenario in SCENARIOS if journeys is None or scenario.journey in journeys]
    targets = [(scenario, HISTORIES / f"{scenario.journey}.{tag}.{scenario.name}.json") for scenario in scenarios]
    existing = [path.name for _, path in targets if path.exists()]
    if existing:
        raise SystemExit(f"refusing to overwrite {', '.join(existing)}: pick a new --tag")
    registry = JourneyRegistry.from_modules(["journeys"])
    with tempfile.TemporaryDirectory() as state:
        settings = make_settings(Path(state), journey_modules=["journeys"])
        database = Database(settings.database_url)
        await database.create_tables()
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=installed_binary("temporal-test-server")
        )
        try:
            await register_search_attributes(env.client)
            router = EventRouter(env.client, registry, settings.task_queue, EntryLedger(database))
            async with build_worker(env.client, settings, registry, database):
                for scenario, path in targets:
                    path.write_text(await record(scenario, env, router, database))
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
