"""Journeys as code: write a customer journey as a plain async method, get a durable workflow.

```python
from datetime import timedelta

from temporalio import workflow

from workflows import Email, Entry, Journey, Outcome, journey


@journey(trigger="signed_up", events={"activated"}, exit_on={"unsubscribed"})
class Welcome(Journey):
    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        await self.send(Email("welcome"))
        if await self.wait_for("activated", timeout=timedelta(days=2)) is None:
            await self.send(Email("welcome_reminder"))
        return self.completed()
```

`@journey` makes the class a Temporal workflow (do not add `@workflow.defn`) and guards its run
method: an exit or goal event, or an operator's `exit` signal, ends the journey at once, even in
the middle of a wait, and the workflow always completes with an `Outcome` rather than a Temporal
failure. Every primitive keeps the `JourneyStep` search attribute and the UI's current details up
to date. Anything that needs the outside world (the profile, the customer's clock, sending) is
an activity, so the workflow stays deterministic.

Changing a journey while customers are in it: Temporal replays each running journey's history
against the code deployed now and compares the commands the code issues with those recorded —
their kind and order (activity, timer, search-attribute update, continue-as-new, completion) and
each activity's type; not their inputs or timer durations (results come from the history, they
are not computed again). Each primitive's docstring says which of its edits change commands.
Such an edit breaks only journeys whose history already passed it (those still before it
replay and take the new path); put it behind `workflow.patched`, and pin it with a replay test
(tests/workflows/test_replay.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any, NoReturn, TypeVar

from temporalio import workflow

from workflows._runtime import JourneyRuntime, guard, own_run_method
from workflows.durations import short_duration, utc_label
from workflows.experiments import HOLDOUT, assign_variant
from workflows.messages import Message
from workflows.names import EVENT_SIGNAL, EXIT_SIGNAL, STATE_QUERY
from workflows.spec import JourneyDefinitionError, JourneySpec, ReEntry, journey_name_from_class
from workflows.timing import WEEKDAYS, QuietHours, weekday_index
from workflows.types import Entry, JourneyEvent, JourneyState, Outcome, Profile, SendResult

__all__ = ["HOLDOUT", "Journey", "JourneyDefinitionError", "journey"]

HISTORY_LIMIT = 1_000  # events per run before `should_continue_as_new` says so (replays stay fast)

J = TypeVar("J", bound=type["Journey"])


def journey(
    *,
    trigger: str | None = None,
    events: Collection[str] = (),
    exit_on: Collection[str] = (),
    goal: str | Collection[str] = (),
    reentry: ReEntry = "once",
    key: str | None = None,
    quiet_hours: str | QuietHours | None = None,
    name: str | None = None,
) -> Callable[[J], J]:
    """Declare a journey class and make it a Temporal workflow named after the journey.

    The class must subclass `Journey` and define one `@workflow.run` method taking an `Entry`.
    `trigger` enters a customer; `events` are what `wait_for` may wait for; `exit_on` and `goal`
    events end the journey at once (outcome `exited` / `converted`); `reentry` is `once`,
    `after_exit` or `always`; `key` names the event property that makes one instance per value;
    `quiet_hours` (e.g. `"21:00-08:00"`) holds marketing sends until morning; `name` defaults to
    the class name in snake_case.

    Changing a declaration while journeys run:
    - `trigger`, `reentry`, `key` are read by the router only: replay-safe, but they apply to
      every event routed from then on, running instances included (a new `key` addresses
      instances by the new property).
    - `quiet_hours` is an input of each send: replay-safe; it applies to sends made from then on.
    - `events`, `exit_on`, `goal` decide what each recorded `event` signal does on replay. An edit
      that changes what an event a journey already received did (ended it, was waited for, was
      ignored) breaks that journey, e.g. removing the `exit_on` event that ended it. Adding a name
      is safe unless it is the trigger: the router only ever sent a journey the events it
      declared, and its trigger (to a running instance, under `after_exit` or a `key`).
    - `name` is the workflow type: journeys started under the old name find no worker. Rename
      the class, not the journey (pass the old `name=`).
    """

    def decorate(cls: J) -> J:
        if not (inspect.isclass(cls) and issubclass(cls, Journey)):
            raise JourneyDefinitionError(f"@journey decorates Journey subclasses, not {cls!r}")
        spec = JourneySpec(
            name=name or journey_name_from_class(cls.__name__),
            trigger=trigger,
            events=frozenset(events),
            exit_on=frozenset(exit_on),
            goal=frozenset({goal} if isinstance(goal, str) else goal),
            reentry=reentry,
            key=key,
            quiet_hours=QuietHours.parse(quiet_hours) if isinstance(quiet_hours, str) else quiet_hours,
        )
        cls.spec = spec
        run_name, run_fn = own_run_method(cls)
        setattr(cls, run_name, guard(run_fn))
        return workflow.defn(name=spec.name)(cls)

    return decorate


class Journey(JourneyRuntime):
    """Base class of every journey: the primitives journey code awaits (`send`, `wait`,
    `wait_until`, `wait_for`, `profile`, `experiment`, `completed`, `continue_as_new`) and the
    signals and query operators use (`event`, `exit`, `state`). `spec` is the class's
    `@journey` declaration."""

    # ----- primitives for journey code --------------------------------------------------------

    async def send(
        self,
        message: Message,
        *,
        fallback: Sequence[Message] = (),
        step: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> SendResult:
        """Send `message`; if it is not delivered, try each `fallback` message in turn.

        Returns the result of the last attempt: check `.delivered`, or `.reason` for a skip.
        A send is an activity: it survives crashes and is never delivered twice. Inside quiet
        hours it waits on a durable timer until they end. In an experiment's holdout it sends
        nothing (recorded as skipped `holdout`). `step` names the step (default
        `send:<template>`); `data` is added to the template's `data`.

        On replay a send is a `JourneyStep` update and one `send_message` activity per attempt
        (plus a timer and a new attempt per quiet-hours deferral, as recorded). Changing the
        template, channel, topic or `data` replays: they are the activity's input, and sends
        already made stay as they were. Adding, removing or reordering a send breaks journeys
        past it. Adding a `fallback` breaks journeys in which that send was already not
        delivered (the fallback is one more activity); removing one breaks those where it went
        out. A step name (`step`, or the template for the default) that becomes equal to the
        step just before, or stops being equal to it, adds or removes an update: that breaks too.
        """
        result = await self._send_one(message, step, data)
        for alternative in fallback:
            if result.delivered or result.reason == "holdout":
                break
            result = await self._send_one(alternative, step, data)
        return result

    async def wait(
        self,
        duration: timedelta | None = None,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> None:
        """Wait a fixed time on a durable timer (`wait(days=2)` or `wait(timedelta(...))`).

        On replay a wait is a `JourneyStep` update (`wait:2d`) and a timer. Changing the
        duration replays: a timer already running keeps the duration it started with, later
        ones take the new one. Adding, removing or reordering a wait breaks journeys past it, as
        does a duration that makes two consecutive waits' steps equal or different.
        """
        self._stop_if_ended()
        total = (duration or timedelta()) + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if total <= timedelta():
            raise JourneyDefinitionError(f"wait needs a positive duration, got {total}")
        label = short_duration(total)
        self._set_step(f"wait:{label}", f"Waiting {label}, until {utc_label(workflow.now() + total)}")
        await workflow.sleep(total, summary=f"wait {label}")

    async def wait_until(self, at: time, *, weekday: str | None = None) -> datetime:
        """Wait until the next `at` in the customer's time zone (on `weekday`, if given): e.g.
        `wait_until(local_time(9), weekday="tue")`. DST-correct; returns the instant (UTC).

        On replay it is a `JourneyStep` update, a `resolve_local_time` activity and, unless the
        instant had already come, a timer; the resolved instant is recorded, so replay waits
        for the same one. Changing `at` or `weekday` replays (the activity's input: journeys
        already waiting keep their instant). Adding, removing or reordering it breaks journeys
        past it.
        """
        self._stop_if_ended()
        day = WEEKDAYS[weekday_index(weekday)] if weekday else None
        label = f"{day} {at:%H:%M}" if day else f"{at:%H:%M}"
        self._set_step(f"wait_until:{label}", f"Waiting until {label} in the customer's time zone")
        resolved = await self._resolve_local_time(at, weekday_index(weekday) if weekday else None, label)
        target = datetime.fromisoformat(resolved.at)
        workflow.set_current_details(
            f"**{self.spec.name}** · Waiting until {label} {resolved.timezone} ({utc_label(target)})"
        )
        if target > workflow.now():
            await workflow.sleep(target - workflow.now(), summary=f"until {label} {resolved.timezone}")
        return target

    async def wait_for(self, *names: str, timeout: timedelta | None = None) -> JourneyEvent | None:
        """Wait for the first of `names` to happen; None if `timeout` passes first.

        Returns the event with its `properties`. Events received since the journey started
        count, each at most once: an event that arrived while the journey was busy sending is
        not lost. Every name must be declared in the journey's `events`.

        On replay it is a `JourneyStep` update and, only with a `timeout`, a timer (cancelled
        when an event comes first); the wait itself is a condition on recorded signals, as with
        `workflow.wait_condition`. So:
        - changing the timeout's length replays (a wait already running keeps its deadline);
        - adding a timeout to a wait without one, or removing it, breaks journeys that reached
          this wait: the timer is a command;
        - adding, removing or reordering a `wait_for` breaks journeys past it (its step update);
        - changing `names` replays unless, for a journey past this wait, it changes which event
          ended the wait or whether the timeout did.
        """
        self._stop_if_ended()
        if not names:
            raise JourneyDefinitionError("wait_for needs at least one event name")
        undeclared = sorted(set(names) - self.spec.events)
        if undeclared:
            raise JourneyDefinitionError(
                f"journey {self.spec.name} waits for {', '.join(undeclared)} but does not declare it: "
                f"add it to @journey(events=...)"
            )
        wanted = set(names)
        label = "|".join(sorted(wanted))
        deadline = f" until {utc_label(workflow.now() + timeout)}" if timeout else ""
        self._set_step(f"wait_for:{label}", f"Waiting for {' or '.join(sorted(wanted))}{deadline}")
        self._waiting_for = sorted(wanted)
        try:
            await workflow.wait_condition(
                lambda: any(event.name in wanted for event in self._inbox),
                timeout=timeout,
                timeout_summary=f"wait_for {label} timeout" if timeout else None,
            )
        except TimeoutError:
            return None
        finally:
            self._waiting_for = []
        match = next(event for event in self._inbox if event.name in wanted)
        self._inbox.remove(match)
        return match

    async def profile(self) -> Profile:
        """The customer's profile as it is now (time zone, locale, attributes, reachability),
        read by an activity; branch on it freely.

        On replay it is one `load_profile` activity whose result is recorded: a replay branches
        on the profile as it was read then, not as it is now, so branching on it is safe.
        Adding, removing or reordering a `profile()` call breaks journeys past it.
        """
        self._stop_if_ended()
        return await self._load_profile()

    def experiment(self, name: str, variants: Sequence[str], weights: Sequence[float] | None = None) -> str:
        """The customer's variant of experiment `name`: stable for the customer, recorded on every
        later send and on the conversion. A variant named `HOLDOUT` ("holdout") sends nothing.

        It issues no command: the variant is computed from the customer id, `name`, `variants`
        and `weights`, not recorded, and recomputed on every replay. Changing any of them
        reassigns customers: new entrants, and every running journey the next time it is
        replayed (a worker restart, or the run leaving the worker's cache). Replay does not
        notice unless the new variant takes other steps (then it breaks); sends already made
        keep the variant they recorded, later sends, the outcome and the conversion get the new
        one. To change a live experiment, give it a new `name` behind `workflow.patched`. A
        variant carried over a continue-as-new is kept, not recomputed.
        """
        if name not in self._variants:
            self._variants[name] = assign_variant(self.customer_id, name, variants, weights)
        return self._variants[name]

    def completed(self) -> Outcome:
        """The outcome of a journey that ran to its end: `failed_to_reach` if it tried to send
        and nothing got through (holdout skips are not tries), else `completed`.

        No command: the outcome is the workflow's result, which replay does not compare.
        """
        return self._completed_outcome()

    def should_continue_as_new(self) -> bool:
        """True when this run's history is long enough that a loop should `continue_as_new`.

        No command: it reads the history's length so far, which is the same on replay.
        Changing the condition it is combined with moves where runs continue, which breaks
        runs that went past the old point.
        """
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > HISTORY_LIMIT

    def continue_as_new(self, state: dict[str, Any]) -> NoReturn:
        """Start a fresh run (fresh history) of this journey; the new run's `entry.state` is
        `state`. Unconsumed events, experiment variants and send counts carry over.

        On replay it is the run's last command: moving, adding or removing it breaks runs past
        that point. Changing `state` replays (it is the next run's input), but runs that
        continued before the change start with the old `state`, so code reading `entry.state`
        must accept both. The new run replays only its own history, against the code deployed
        when it started and after.
        """
        workflow.continue_as_new(replace(self.entry, state=state, carried=self._carried()))

    @property
    def entry(self) -> Entry:
        """The entry this run started with (customer, trigger event, API data, carried state)."""
        return self._started

    @property
    def customer_id(self) -> str:
        """The customer this journey runs for."""
        return self.entry.customer_id

    # ----- what the outside world calls ---------------------------------------------------
    # Their names are in every running journey's history and in the router: never rename them.

    @workflow.signal(
        name=EVENT_SIGNAL,
        description='A customer event: {"id": "...", "name": "activated", "properties": {}}. Repeated ids are ignored.',
    )
    def on_event(self, event: JourneyEvent) -> None:
        """Deliver a customer event. Repeats (same id) are ignored; goal and exit events end the journey.

        Send it by reference: `handle.signal(Journey.on_event, event)`."""
        self._receive(event)

    @workflow.signal(
        name=EXIT_SIGNAL,
        description='End this journey now; the argument is the reason, e.g. "customer asked support".',
    )
    def on_operator_exit(self, reason: str = "operator") -> None:
        """Let an operator end the journey from the Temporal UI or CLI (outcome `exited`)."""
        self._end("exited", reason=reason or "operator")

    @workflow.query(name=STATE_QUERY, description="Current step, awaited events, sends so far and the outcome.")
    def state(self) -> JourneyState:
        """The journey's current step, what it waits for, its sends so far and its outcome:
        `await handle.query(Journey.state)`."""
        return JourneyState(
            journey=self.spec.name,
            customer_id=self._entry.customer_id if self._entry else "",
            step=self._step,
            waiting_for=list(self._waiting_for),
            sends=list(self._sends),
            outcome=self._outcome,
        )
