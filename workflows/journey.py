"""The journey base: write a customer journey as a plain async method, get a durable workflow.

```python
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
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import Callable, Collection, Coroutine, Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any, ClassVar, NoReturn, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import TemporalError

from workflows import search
from workflows.durations import short_duration, utc_label
from workflows.experiments import HOLDOUT, assign_variant, encode_variants
from workflows.messages import Message
from workflows.spec import JourneyDefinitionError, JourneySpec, ReEntry, journey_name_from_class
from workflows.timing import WEEKDAYS, QuietHours, weekday_index
from workflows.types import (
    Carried,
    ConversionRequest,
    Entry,
    JourneyEvent,
    JourneyState,
    LocalTimeRequest,
    LocalTimeResult,
    Outcome,
    OutcomeStatus,
    Profile,
    SendRequest,
    SendResult,
)

__all__ = ["HOLDOUT", "Journey", "JourneyDefinitionError", "journey"]

SEND_ACTIVITY = "send_message"
PROFILE_ACTIVITY = "load_profile"
LOCAL_TIME_ACTIVITY = "resolve_local_time"
CONVERSION_ACTIVITY = "record_conversion"

SEND_TIMEOUT = timedelta(minutes=1)
# The send activity heartbeats; a worker that dies mid-send is noticed after this, not SEND_TIMEOUT.
SEND_HEARTBEAT_TIMEOUT = timedelta(seconds=10)
LOOKUP_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
HISTORY_LIMIT = 1_000  # events per run before `should_continue_as_new` says so (replays stay fast)
CARRIED_EVENT_IDS = 1_000  # the most recent event ids remembered across continue-as-new
UNWIND_STEPS = 10  # event-loop turns a cancelled body gets to reach its next primitive

J = TypeVar("J", bound=type["Journey"])
RunMethod = Callable[[Any, Entry], Coroutine[Any, Any, Any]]


class Journey:
    """Base class of every journey: the primitives (`send`, `wait`, `wait_until`, `wait_for`,
    `profile`, `experiment`) and the signals and query operators use (`event`, `exit`, `state`)."""

    spec: ClassVar[JourneySpec]

    def __init__(self) -> None:
        self._entry: Entry | None = None
        self._inbox: list[JourneyEvent] = []
        self._seen_event_ids: dict[str, None] = {}  # insertion-ordered, so the newest can be carried
        self._outcome: Outcome | None = None
        self._goal_event: JourneyEvent | None = None
        self._step = "entered"
        self._waiting_for: list[str] = []
        self._sends: list[SendResult] = []
        self._variants: dict[str, str] = {}
        self._earlier = Carried()

    # ----- what the outside world calls ---------------------------------------------------

    @workflow.signal(
        name="event",
        description='A customer event: {"id": "...", "name": "activated", "properties": {}}. Repeated ids are ignored.',
    )
    def on_event(self, event: JourneyEvent) -> None:
        """Deliver a customer event. Repeats (same id) are ignored; goal and exit events end the journey."""
        if event.id in self._seen_event_ids:
            return
        self._seen_event_ids[event.id] = None
        if event.name in self.spec.goal:
            if self._outcome is None:
                self._goal_event = event
            self._end("converted", reason=event.name, event=event)
        elif event.name in self.spec.exit_on:
            self._end("exited", reason=event.name, event=event)
        elif event.name in self.spec.events:
            self._inbox.append(event)

    @workflow.signal(
        name="exit", description='End this journey now; the argument is the reason, e.g. "customer asked support".'
    )
    def on_operator_exit(self, reason: str = "operator") -> None:
        """Let an operator end the journey from the Temporal UI or CLI."""
        self._end("exited", reason=reason or "operator")

    @workflow.query(name="state", description="Current step, awaited events, sends so far and the outcome.")
    def state(self) -> JourneyState:
        """The journey's current step, what it waits for, its sends so far and its outcome."""
        return JourneyState(
            journey=self.spec.name,
            customer_id=self._entry.customer_id if self._entry else "",
            step=self._step,
            waiting_for=list(self._waiting_for),
            sends=list(self._sends),
            outcome=self._outcome,
        )

    # ----- primitives for journey code ------------------------------------------------------

    @property
    def entry(self) -> Entry:
        """The entry this run started with (customer, trigger event, API data, carried state)."""
        if self._entry is None:
            raise JourneyDefinitionError("the journey has not started yet")
        return self._entry

    @property
    def customer_id(self) -> str:
        """The customer this journey runs for."""
        return self.entry.customer_id

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
        nothing (recorded as skipped `holdout`).
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
        """Wait a fixed time on a durable timer (`wait(days=2)` or `wait(timedelta(...))`)."""
        self._stop_if_ended()
        total = (duration or timedelta()) + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if total <= timedelta():
            raise JourneyDefinitionError(f"wait needs a positive duration, got {total}")
        label = short_duration(total)
        self._set_step(f"wait:{label}", f"Waiting {label}, until {utc_label(workflow.now() + total)}")
        await workflow.sleep(total, summary=f"wait {label}")

    async def wait_until(self, at: time, *, weekday: str | None = None) -> datetime:
        """Wait until the next `at` in the customer's time zone (on `weekday`, if given): e.g.
        `wait_until(local_time(9), weekday="tue")`. DST-correct; returns the instant (UTC)."""
        self._stop_if_ended()
        day = WEEKDAYS[weekday_index(weekday)] if weekday else None
        label = f"{day} {at:%H:%M}" if day else f"{at:%H:%M}"
        self._set_step(f"wait_until:{label}", f"Waiting until {label} in the customer's time zone")
        resolved = await workflow.execute_activity(
            LOCAL_TIME_ACTIVITY,
            LocalTimeRequest(
                customer_id=self.customer_id,
                after=workflow.now().isoformat(),
                at=f"{at:%H:%M}",
                weekday=weekday_index(weekday) if weekday else None,
            ),
            result_type=LocalTimeResult,
            start_to_close_timeout=LOOKUP_TIMEOUT,
            retry_policy=RETRY,
            summary=f"resolve {label} local",
        )
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
        read by an activity; branch on it freely."""
        self._stop_if_ended()
        return await workflow.execute_activity(
            PROFILE_ACTIVITY,
            self.customer_id,
            result_type=Profile,
            start_to_close_timeout=LOOKUP_TIMEOUT,
            retry_policy=RETRY,
            summary="load profile",
        )

    def experiment(self, name: str, variants: Sequence[str], weights: Sequence[float] | None = None) -> str:
        """The customer's variant of experiment `name`: stable for the customer, recorded on every
        later send and on the conversion. A variant named `HOLDOUT` ("holdout") sends nothing."""
        if name not in self._variants:
            self._variants[name] = assign_variant(self.customer_id, name, variants, weights)
        return self._variants[name]

    def completed(self) -> Outcome:
        """The outcome of a journey that ran to its end: `failed_to_reach` if it tried to send
        and nothing got through (holdout skips are not tries), else `completed`."""
        attempted, delivered = self._send_counts()
        status: OutcomeStatus = "failed_to_reach" if attempted and not delivered else "completed"
        return Outcome(status=status, step=self._step, variant=encode_variants(self._variants))

    def should_continue_as_new(self) -> bool:
        """True when this run's history is long enough that a loop should `continue_as_new`."""
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > HISTORY_LIMIT

    def continue_as_new(self, state: dict[str, Any]) -> NoReturn:
        """Start a fresh run (fresh history) of this journey; the new run's `entry.state` is
        `state`. Unconsumed events, experiment variants and send counts carry over."""
        attempted, delivered = self._send_counts()
        carried = Carried(
            seen_event_ids=list(self._seen_event_ids)[-CARRIED_EVENT_IDS:],
            inbox=list(self._inbox),
            variants=dict(self._variants),
            sends_attempted=attempted,
            sends_delivered=delivered,
            runs=self._earlier.runs + 1,
        )
        workflow.continue_as_new(replace(self.entry, state=state, carried=carried))

    # ----- internals ----------------------------------------------------------------------------

    def _send_counts(self) -> tuple[int, int]:
        """Sends attempted and delivered over all runs; holdout skips were never meant to reach."""
        tried = [result for result in self._sends if result.reason != "holdout"]
        attempted = self._earlier.sends_attempted + len(tried)
        return attempted, self._earlier.sends_delivered + sum(result.delivered for result in tried)

    def _stop_if_ended(self) -> None:
        """Journey code that reaches a primitive after an exit or goal stops there: the guard's
        cancel can be absorbed by an activity that completed in the same activation."""
        if self._outcome is not None:
            raise asyncio.CancelledError

    async def _send_one(self, message: Message, step: str | None, data: dict[str, Any] | None) -> SendResult:
        info = workflow.info()
        step_name = step or f"send:{message.template}"
        self._set_step(step_name, f"Sending {message.channel} `{message.template}`")
        key = f"{info.workflow_id}/{info.run_id}/{len(self._sends) + 1}"
        while True:
            self._stop_if_ended()
            result = await workflow.execute_activity(
                SEND_ACTIVITY,
                self._send_request(key, message, step_name, data),
                result_type=SendResult,
                start_to_close_timeout=SEND_TIMEOUT,
                heartbeat_timeout=SEND_HEARTBEAT_TIMEOUT,
                retry_policy=RETRY,
                summary=f"{message.channel} {message.template}",
            )
            if result.status != "deferred" or result.not_before is None:
                break
            until = datetime.fromisoformat(result.not_before)
            workflow.set_current_details(
                f"**{self.spec.name}** · Quiet hours: `{message.template}` waits until {utc_label(until)}"
            )
            await workflow.sleep(max(until - workflow.now(), timedelta(seconds=1)), summary="quiet hours")
        self._sends.append(result)
        return result

    def _send_request(self, key: str, message: Message, step: str, data: dict[str, Any] | None) -> SendRequest:
        entry = self.entry
        return SendRequest(
            idempotency_key=key,
            customer_id=entry.customer_id,
            journey=self.spec.name,
            step=step,
            channel=message.channel,
            template=message.template,
            topic=message.topic,
            variant=encode_variants(self._variants),
            data={
                "event": dict(entry.event.properties) if entry.event else {},
                "data": {**entry.data, **(data or {})},
            },
            now=workflow.now().isoformat(),
            quiet_hours=self.spec.quiet_hours,
            holdout=HOLDOUT in self._variants.values(),
        )

    def _set_step(self, step: str, details: str, *also: SearchAttributeUpdate[Any]) -> None:
        if step != self._step or also:  # a loop on one step must not write an event per turn
            workflow.upsert_search_attributes([*also, search.JOURNEY_STEP.value_set(step)])
        self._step = step
        workflow.set_current_details(f"**{self.spec.name}** · {details}")

    def _end(self, status: OutcomeStatus, *, reason: str, event: JourneyEvent | None = None) -> None:
        if self._outcome is None:
            variant = encode_variants(self._variants)
            self._outcome = Outcome(status=status, step=self._step, reason=reason, event=event, variant=variant)

    def _enter(self, entry: Entry) -> None:
        self._entry = entry
        if entry.carried is not None:
            self._earlier = entry.carried
            self._variants = dict(entry.carried.variants)
            self._seen_event_ids.update(dict.fromkeys(entry.carried.seen_event_ids))
            self._inbox = [*entry.carried.inbox, *self._inbox]
        if entry.event is not None:
            # The trigger also arrives as the start signal: it is the entry, not a later event.
            self._seen_event_ids[entry.event.id] = None
            self._inbox = [event for event in self._inbox if event.id != entry.event.id]
        self._set_step(
            "entered",
            f"Entered for customer `{entry.customer_id}`",
            search.CUSTOMER_ID.value_set(entry.customer_id),
            search.JOURNEY_NAME.value_set(self.spec.name),
        )

    async def _run_guarded(self, body: RunMethod, entry: Entry) -> Outcome:
        self._enter(entry)
        task = asyncio.create_task(body(self, entry))
        await workflow.wait_condition(lambda: task.done() or self._outcome is not None)
        if self._outcome is None:
            returned = task.result()  # re-raises continue-as-new and bugs alike
            self._outcome = returned if isinstance(returned, Outcome) else self.completed()
        elif not task.done():
            await _unwind(task)
        outcome = self._outcome
        if outcome.status == "converted" and self._goal_event is not None:
            await self._record_conversion(outcome, self._goal_event)
        ending = f"Ended: {outcome.status}" + (f" ({outcome.reason})" if outcome.reason else "")
        self._set_step(f"end:{outcome.status}", ending)
        return outcome

    async def _record_conversion(self, outcome: Outcome, event: JourneyEvent) -> None:
        info = workflow.info()
        await workflow.execute_activity(
            CONVERSION_ACTIVITY,
            ConversionRequest(
                key=f"{info.workflow_id}/{info.run_id}",
                journey=self.spec.name,
                customer_id=self.customer_id,
                workflow_id=info.workflow_id,
                goal=event.name,
                step=outcome.step,
                variant=outcome.variant,
                occurred_at=event.occurred_at or workflow.now().isoformat(),
            ),
            start_to_close_timeout=LOOKUP_TIMEOUT,
            retry_policy=RETRY,
            summary=f"conversion {event.name}",
        )


async def _unwind(body: asyncio.Task[Any]) -> None:
    """Cancel the journey body and let it stop, without waiting on anything it may still await:
    the outcome is already decided. (A cancelled timer raises CancelledError, a cancelled
    activity ActivityError; an activity that completed in the same activation absorbs the
    cancel, and the body then stops at its next primitive.)"""
    body.cancel()
    for _ in range(UNWIND_STEPS):
        if body.done():
            break
        await asyncio.sleep(0)
    if body.done() and not body.cancelled():
        with contextlib.suppress(TemporalError):
            body.exception()  # retrieved, so asyncio does not report it as unhandled


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
        run_name, run_fn = _own_run_method(cls)
        setattr(cls, run_name, _guard(run_fn))
        return workflow.defn(name=spec.name)(cls)

    return decorate


def _own_run_method(cls: type[Journey]) -> tuple[str, RunMethod]:
    for attr_name, member in vars(cls).items():
        if inspect.isfunction(member) and hasattr(member, "__temporal_workflow_run"):
            return attr_name, member
    raise JourneyDefinitionError(f"{cls.__name__} needs an `@workflow.run async def run(self, entry: Entry)` method")


def _guard(run_fn: RunMethod) -> RunMethod:
    # functools.wraps keeps the name, qualname, module and annotations Temporal inspects.
    @functools.wraps(run_fn)
    async def run(self: Journey, entry: Entry) -> Outcome:
        return await self._run_guarded(run_fn, entry)

    return run
