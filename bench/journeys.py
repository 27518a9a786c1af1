"""The journeys the benchmarks drive through Overture's HTTP API (`OVERTURE_JOURNEY_MODULES=bench.journeys`).

Each does the smallest piece of work one benchmark measures, so that the bare Temporal workflows
of `bench/bare.py` can do exactly the same work:

- `bench_deliver` (`bench_trigger`): one webhook message to the local provider stand-in, then done;
- `bench_listen` (`bench_listen`): hears `bench_ping` events until `bench_stop`;
- `bench_sleep` (`bench_sleep`): waits on a timer until the event's `wake_at` (unix seconds), then
  one webhook message, then done.
"""

from datetime import timedelta

from temporalio import workflow

from workflows import Entry, Journey, Outcome, Webhook, journey

MESSAGE = "bench_message"


@journey(trigger="bench_trigger")
class BenchDeliver(Journey):
    """Started by an event; sends one message."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        await self.send(Webhook(MESSAGE, topic="product"))
        return self.completed()


@journey(trigger="bench_listen", events={"bench_ping"}, exit_on={"bench_stop"})
class BenchListen(Journey):
    """Running until stopped, hearing every `bench_ping`."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        while True:
            await self.wait_for("bench_ping")
            if self.should_continue_as_new():
                self.continue_as_new({})


@journey(trigger="bench_sleep")
class BenchSleep(Journey):
    """Waits on a timer until `wake_at`, then sends one message."""

    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        wake_at = float(entry.event.properties["wake_at"]) if entry.event else workflow.now().timestamp()
        remaining = wake_at - workflow.now().timestamp()
        if remaining > 0:
            await self.wait(timedelta(seconds=remaining))
        await self.send(Webhook(MESSAGE, topic="product"))
        return self.completed()
