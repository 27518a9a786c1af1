"""Measure what passing `workflows` through the sandbox saves per journey instance (not a test).

    python -m bench.sandbox_cost [--replays 200]

Each replay creates a fresh workflow instance, as the worker does for every journey it starts
or rebuilds: a new sandbox with its imports, then the recorded history. The difference between
the two runners is the cost of re-importing the `workflows` package for every instance.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from starter.routing.registry import JourneyRegistry
from starter.runtime.sandbox import journey_workflow_runner

HISTORY = Path(__file__).resolve().parents[1] / "tests" / "workflows" / "histories" / "welcome.v2.activated-day-1.json"
WARM_UP = 5


async def _each(histories: Sequence[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


async def cpu_ms_per_instance(runner: WorkflowRunner, replays: int) -> float:
    """Process CPU time per replayed journey instance under `runner`, in milliseconds."""
    text = HISTORY.read_text()
    histories = [WorkflowHistory.from_json(f"measure-{index}", text) for index in range(replays)]
    replayer = Replayer(workflows=JourneyRegistry.from_modules(["journeys"]).workflows, workflow_runner=runner)
    await replayer.replay_workflows(_each(histories[:WARM_UP]))
    start = time.process_time()
    results = await replayer.replay_workflows(_each(histories), raise_on_replay_failure=False)
    spent = time.process_time() - start
    if results.replay_failures:
        raise SystemExit(f"replay failed: {results.replay_failures}")
    return spent / replays * 1000


async def main(replays: int) -> None:
    runners: list[tuple[str, WorkflowRunner]] = [
        ("default sandbox", SandboxedWorkflowRunner()),
        ("workflows passed through", journey_workflow_runner()),
    ]
    for label, runner in runners:
        cost = await cpu_ms_per_instance(runner, replays)
        print(f"{label:26} {cost:6.2f} ms CPU per journey instance ({replays} replays of {HISTORY.name})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replays", type=int, default=200)
    asyncio.run(main(parser.parse_args().replays))
