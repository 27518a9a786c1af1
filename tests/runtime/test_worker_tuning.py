"""The worker as the OVERTURE_WORKER_* settings size it, and the sandbox that guards journey code."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import PollerBehaviorAutoscaling, PollerBehaviorSimpleMaximum

from activities.store.database import Database
from starter.config.settings import Settings, SettingsError
from starter.routing.registry import JourneyRegistry
from starter.runtime.worker import build_worker
from tests.helpers.support import eventually, make_settings
from workflows import Entry
from workflows.types import Outcome

WALL_CLOCK = "tests.runtime.wall_clock_journey"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No OVERTURE_* variable from the machine, and a working directory with no `.env`."""
    for name in list(os.environ):
        if name.startswith("OVERTURE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_worker_variables_are_read_and_checked(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("OVERTURE_WORKER_CACHE_SIZE", "400")
    environment.setenv("OVERTURE_WORKER_WORKFLOW_TASKS", "40")
    environment.setenv("OVERTURE_WORKER_POLLERS", "auto")
    settings = Settings.load()
    assert (settings.worker_cache_size, settings.worker_workflow_tasks, settings.worker_pollers) == (400, 40, "auto")

    environment.setenv("OVERTURE_WORKER_POLLERS", "12")
    assert Settings.load().worker_pollers == 12

    environment.setenv("OVERTURE_WORKER_POLLERS", "lots")
    environment.setenv("OVERTURE_WORKER_WORKFLOW_TASKS", "500")
    with pytest.raises(SettingsError) as error:
        Settings.load()
    assert "OVERTURE_WORKER_POLLERS: 'lots' is neither a number of pollers" in str(error.value)
    assert "OVERTURE_WORKER_WORKFLOW_TASKS: 500 exceeds OVERTURE_WORKER_CACHE_SIZE (400)" in str(error.value)


async def test_the_worker_is_sized_by_the_settings(dev_client: Client, tmp_path: Path, database: Database) -> None:
    registry = JourneyRegistry.from_modules(["journeys"])
    sized = make_settings(tmp_path, worker_cache_size=300, worker_workflow_tasks=30, worker_activities=20)
    scaled = make_settings(tmp_path, worker_pollers="auto", task_queue=f"scaled-{uuid.uuid4()}")

    config = build_worker(dev_client, sized, registry, database).config()
    autoscaled = build_worker(dev_client, scaled, registry, database).config()

    assert (config["max_cached_workflows"], config["max_concurrent_workflow_tasks"]) == (300, 30)
    assert config["max_concurrent_activities"] == 20
    assert config["workflow_task_poller_behavior"] == PollerBehaviorSimpleMaximum(maximum=5)
    assert autoscaled["activity_task_poller_behavior"] == PollerBehaviorAutoscaling()
    assert autoscaled["max_cached_workflows"] == Settings.isolated().worker_cache_size


async def _first_task_failure(handle: WorkflowHandle[object, object]) -> str | None:
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            return str(event.workflow_task_failed_event_attributes.failure.message)
    return None


async def test_journey_code_is_sandboxed_only_when_not_shared(
    dev_client: Client, tmp_path: Path, database: Database
) -> None:
    client = dev_client  # real time: a step failing in a loop must not hold a time-skipping server's clock
    registry = JourneyRegistry.from_modules([WALL_CLOCK])
    guarded = make_settings(
        tmp_path,
        journey_modules=[WALL_CLOCK],
        task_queue=f"guarded-{uuid.uuid4()}",
        worker_shared_journey_modules=False,
    )
    shared = make_settings(tmp_path, journey_modules=[WALL_CLOCK], task_queue=f"shared-{uuid.uuid4()}")

    async with build_worker(client, guarded, registry, database):
        handle = await client.start_workflow(
            "wall_clock", Entry(customer_id="c1"), id=f"guarded-{uuid.uuid4()}", task_queue=guarded.task_queue
        )
        failure = await eventually(lambda: _first_task_failure(handle))
        await handle.terminate()
    async with build_worker(client, shared, registry, database):
        outcome = await client.execute_workflow(
            "wall_clock",
            Entry(customer_id="c1"),
            id=f"shared-{uuid.uuid4()}",
            task_queue=shared.task_queue,
            result_type=Outcome,
        )

    # The strict sandbox stops a journey's datetime.now(); the default, shared modules, trades that
    # guard away in the worker (JourneyBench keeps it for journey tests).
    assert "Cannot access datetime.datetime.now" in failure
    assert outcome.status == "completed"
