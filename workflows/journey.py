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
method: an exit event or an operator's `exit` signal ends the journey at once, even in the middle
of a wait, and the workflow always completes with an `Outcome` rather than a Temporal failure.
Every primitive keeps the `JourneyStep` search attribute and the UI's current details up to date.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import Callable, Collection, Coroutine, Sequence
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate

from workflows import search
from workflows.describe import short_duration, utc_label
from workflows.messages import Message
from workflows.spec import JourneyDefinitionError, JourneySpec, ReEntry, journey_name_from_class
from workflows.types import Entry, JourneyEvent, JourneyState, Outcome, OutcomeStatus, SendRequest, SendResult

__all__ = ["Journey", "JourneyDefinitionError", "journey"]

SEND_ACTIVITY = "send_message"
SEND_TIMEOUT = timedelta(minutes=1)
SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))

J = TypeVar("J", bound=type["Journey"])
RunMethod = Callable[[Any, Entry], Coroutine[Any, Any, Any]]


class Journey:
    """Base class of every journey: the primitives (`send`, `wait`, `wait_for`) and the
    signals and query operators use (`event`, `exit`, `state`)."""

    spec: ClassVar[JourneySpec]

    def __init__(self) -> None:
        self._entry: Entry | None = None
        self._inbox: list[JourneyEvent] = []
        self._seen_event_ids: set[str] = set()
        self._outcome: Outcome | None = None
        self._step = "entered"
        self._waiting_for: list[str] = []
        self._sends: list[SendResult] = []

    # ----- what the outside world calls ---------------------------------------------------

    @workflow.signal(
        name="event",
        description='A customer event: {"id": "...", "name": "activated", "properties": {}}. Repeated ids are ignored.',
    )
    def on_event(self, event: JourneyEvent) -> None:
        """Deliver a customer event. Repeats (same id) are ignored; exit events end the journey."""
        if event.id in self._seen_event_ids:
            return
        self._seen_event_ids.add(event.id)
        if event.name in self.spec.exit_on:
            self._end(Outcome(status="exited", step=self._step, reason=event.name, event=event))
        elif event.name in self.spec.events:
            self._inbox.append(event)

    @workflow.signal(
        name="exit", description='End this journey now; the argument is the reason, e.g. "customer asked support".'
    )
    def on_operator_exit(self, reason: str = "operator") -> None:
        """Let an operator end the journey from the Temporal UI or CLI."""
        self._end(Outcome(status="exited", step=self._step, reason=reason or "operator"))

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
        """The entry this run started with (customer, trigger event, API data)."""
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
        A send is an activity: it survives crashes and is never delivered twice.
        """
        result = await self._send_one(message, step, data)
        for alternative in fallback:
            if result.delivered:
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
        total = (duration or timedelta()) + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if total <= timedelta():
            raise JourneyDefinitionError(f"wait needs a positive duration, got {total}")
        label = short_duration(total)
        self._set_step(f"wait:{label}", f"Waiting {label}, until {utc_label(workflow.now() + total)}")
        await workflow.sleep(total, summary=f"wait {label}")

    async def wait_for(self, *names: str, timeout: timedelta | None = None) -> JourneyEvent | None:
        """Wait for the first of `names` to happen; None if `timeout` passes first.

        Events received since the journey started count, each at most once: an event that
        arrived while the journey was busy sending is not lost. Every name must be declared in
        the journey's `events`.
        """
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

    def completed(self) -> Outcome:
        """The outcome of a journey that ran to its end (`failed_to_reach` if no send got through)."""
        attempted = bool(self._sends)
        reached = any(result.delivered for result in self._sends)
        status: OutcomeStatus = "failed_to_reach" if attempted and not reached else "completed"
        return Outcome(status=status, step=self._step)

    # ----- internals ----------------------------------------------------------------------------

    async def _send_one(self, message: Message, step: str | None, data: dict[str, Any] | None) -> SendResult:
        info = workflow.info()
        step_name = step or f"send:{message.template}"
        self._set_step(step_name, f"Sending {message.channel} `{message.template}`")
        entry = self.entry
        request = SendRequest(
            idempotency_key=f"{info.workflow_id}/{info.run_id}/{len(self._sends) + 1}",
            customer_id=entry.customer_id,
            journey=self.spec.name,
            step=step_name,
            channel=message.channel,
            template=message.template,
            topic=message.topic,
            data={
                "event": dict(entry.event.properties) if entry.event else {},
                "data": {**entry.data, **(data or {})},
            },
        )
        result = await workflow.execute_activity(
            SEND_ACTIVITY,
            request,
            result_type=SendResult,
            start_to_close_timeout=SEND_TIMEOUT,
            retry_policy=SEND_RETRY,
            summary=f"{message.channel} {message.template}",
        )
        self._sends.append(result)
        return result

    def _set_step(self, step: str, details: str, *also: SearchAttributeUpdate[Any]) -> None:
        self._step = step
        workflow.upsert_search_attributes([*also, search.JOURNEY_STEP.value_set(step)])
        workflow.set_current_details(f"**{self.spec.name}** · {details}")

    def _end(self, outcome: Outcome) -> None:
        if self._outcome is None:
            self._outcome = outcome

    def _enter(self, entry: Entry) -> None:
        self._entry = entry
        if entry.event is not None:
            # The trigger also arrives as the start signal: it is the entry, not a later event.
            self._seen_event_ids.add(entry.event.id)
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
            returned = task.result()
            self._outcome = returned if isinstance(returned, Outcome) else self.completed()
        elif not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        outcome = self._outcome
        self._set_step(
            f"end:{outcome.status}", f"Ended: {outcome.status}" + (f" ({outcome.reason})" if outcome.reason else "")
        )
        return outcome


def journey(
    *,
    trigger: str | None = None,
    events: Collection[str] = (),
    exit_on: Collection[str] = (),
    reentry: ReEntry = "once",
    key: str | None = None,
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
            reentry=reentry,
            key=key,
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
