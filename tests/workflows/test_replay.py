"""Versioning guard: recorded histories of every bundled journey replay against today's code.

A change that would break journeys already running (a new step without `workflow.patched`)
fails here. Record new histories with `python -m tests.workflows.record_histories --tag vN`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from starter.routing.registry import JourneyRegistry
from starter.runtime.sandbox import journey_workflow_runner
from workflows import Email, Entry, Journey, Outcome, journey

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_every_bundled_journey_has_recorded_histories() -> None:
    recorded = {path.name.split(".", 1)[0] for path in HISTORIES}
    bundled = {spec.name for spec in JourneyRegistry.from_modules(["journeys"]).specs}
    assert bundled <= recorded, (
        f"record histories for {sorted(bundled - recorded)}: python -m tests.workflows.record_histories --tag vN"
    )


@pytest.mark.parametrize("path", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_history_replays_against_current_code(path: Path) -> None:
    replayer = Replayer(
        workflows=JourneyRegistry.from_modules(["journeys"]).workflows, workflow_runner=journey_workflow_runner()
    )

    result = await replayer.replay_workflow(load(path), raise_on_replay_failure=False)

    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"


@journey(name="welcome", trigger="signed_up", events={"activated"}, exit_on={"unsubscribed"})
class WelcomeWithUnpatchedExtraStep(Journey):
    """The welcome journey after a careless edit: an extra wait before the first email."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        await self.wait(hours=1)
        await self.send(Email("welcome", topic="product"))
        if await self.wait_for("activated", timeout=timedelta(days=2)) is None:
            await self.send(Email("welcome_reminder", topic="product"))
        return self.completed()


async def test_an_unpatched_incompatible_change_is_caught() -> None:
    replayer = Replayer(workflows=[WelcomeWithUnpatchedExtraStep], workflow_runner=journey_workflow_runner())

    welcome_v1 = Path(__file__).parent / "histories" / "welcome.v1.no-activation.json"
    result = await replayer.replay_workflow(load(welcome_v1), raise_on_replay_failure=False)

    assert isinstance(result.replay_failure, workflow.NondeterminismError)
