"""Bare Temporal: the smallest workflows that do the same work as the benchmark journeys.

The reference every Overture figure is divided by. Written the way the Temporal Python samples
write them (default sandbox, no framework), run by `bench/bare_worker.py` on the same server:

- `BareDeliver`: started by signal-with-start, runs one activity that POSTs to the provider
  stand-in (what `bench_deliver` does with its webhook message);
- `BareListen`: hears `ping` signals until `stop` (what `bench_listen` does with `bench_ping`);
- `BareSleep`: a timer until `wake_at`, then the same activity (what `bench_sleep` does).

Deterministic workflow code only: the standard library and temporalio.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

DELIVER_ACTIVITY = "bare_deliver"
EVENT_SIGNAL = "event"
PING_SIGNAL = "ping"
STOP_SIGNAL = "stop"
ACTIVITY_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name="BareDeliver")
class BareDeliver:
    """One activity call for the customer named by the start signal."""

    def __init__(self) -> None:
        self._customer: str | None = None

    @workflow.signal(name=EVENT_SIGNAL)
    def event(self, customer_id: str) -> None:
        """The triggering event (the signal of signal-with-start)."""
        self._customer = customer_id

    @workflow.run
    async def run(self, customer_id: str) -> str:
        await workflow.execute_activity(
            DELIVER_ACTIVITY, self._customer or customer_id, start_to_close_timeout=ACTIVITY_TIMEOUT
        )
        return "completed"


@workflow.defn(name="BareListen")
class BareListen:
    """Counts `ping` signals until `stop`."""

    def __init__(self) -> None:
        self._pings = 0
        self._seen = 0
        self._stopped = False

    @workflow.signal(name=PING_SIGNAL)
    def ping(self) -> None:
        """One event for the running workflow."""
        self._pings += 1

    @workflow.signal(name=STOP_SIGNAL)
    def stop(self) -> None:
        """End the workflow."""
        self._stopped = True

    @workflow.run
    async def run(self, customer_id: str) -> str:
        while not self._stopped:
            await workflow.wait_condition(lambda: self._stopped or self._pings > self._seen)
            self._seen = self._pings
            if not self._stopped and workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(customer_id)
        return "stopped"


@workflow.defn(name="BareSleep")
class BareSleep:
    """A timer until `wake_at` (unix seconds), then one activity call."""

    @workflow.run
    async def run(self, customer_id: str, wake_at: float) -> str:
        remaining = wake_at - workflow.now().timestamp()
        if remaining > 0:
            await workflow.sleep(timedelta(seconds=remaining))
        await workflow.execute_activity(DELIVER_ACTIVITY, customer_id, start_to_close_timeout=ACTIVITY_TIMEOUT)
        return "completed"


NOOP_ACTIVITY = "bare_noop"
Step = list[str | float]
"""One step of a `BareShape`: `["activity"]`, `["local_activity"]`, `["sleep", seconds]` (a timer
that fires) or `["wait", seconds]` (a signal that comes before its timeout)."""


@workflow.defn(name="BareShape")
class BareShape:
    """The same commands a journey's life issued, in the same order, with nothing around them:
    the least history bare Temporal needs for that work (the `history` benchmark's reference)."""

    def __init__(self) -> None:
        self._signals = 0

    @workflow.signal(name=EVENT_SIGNAL)
    def event(self, name: str) -> None:
        """One customer event."""
        self._signals += 1

    @workflow.run
    async def run(self, steps: list[Step]) -> str:
        consumed = 0
        for step in steps:
            kind = step[0]
            if kind == "activity":
                await workflow.execute_activity(NOOP_ACTIVITY, start_to_close_timeout=ACTIVITY_TIMEOUT)
            elif kind == "local_activity":
                await workflow.execute_local_activity(NOOP_ACTIVITY, start_to_close_timeout=ACTIVITY_TIMEOUT)
            elif kind == "sleep":
                await workflow.sleep(timedelta(seconds=float(step[1])))
            elif kind == "wait":
                consumed += 1
                await self._signal_number(consumed, timedelta(seconds=float(step[1])))
        return "completed"

    async def _signal_number(self, number: int, timeout: timedelta) -> None:
        await workflow.wait_condition(lambda: self._signals >= number, timeout=timeout)


WORKFLOWS = [BareDeliver, BareListen, BareSleep]
"""Every bare workflow, for the bare worker."""
