"""A journey that reads the wall clock, which journey code must never do (test-only: the
sandbox must refuse it)."""

from datetime import datetime

from temporalio import workflow

from workflows import Entry, Journey, Outcome, journey


@journey(name="wall_clock", trigger="wall_clock_test")
class WallClock(Journey):
    """Ends at once, after a non-deterministic call."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        workflow.set_current_details(f"started at {datetime.now().isoformat()}")
        return self.completed()
