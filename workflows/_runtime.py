"""How a journey runs: the machinery behind `workflows.journey.Journey`. Private: not API.

`JourneyRuntime` holds a journey's state (entry, inbox, seen event ids, sends, variants, step,
outcome) and does the bookkeeping every primitive shares: entering, the guarded run that ends
a journey at once on an exit or goal, the send loop with its quiet-hours timer, the
`JourneyStep` search attribute, and the conversion record.

The commands issued here (activities, timers, search-attribute upserts, and their order) are
recorded in every running journey's history and compared on replay: moving code is free,
changing what is issued is not (tests/workflows/test_replay.py guards it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import Callable, Coroutine
from datetime import datetime, time, timedelta
from typing import Any, ClassVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import TemporalError

from workflows import names, search
from workflows.durations import utc_label
from workflows.experiments import HOLDOUT, encode_variants
from workflows.messages import Message
from workflows.spec import JourneyDefinitionError, JourneySpec
from workflows.types import (
    Carried,
    ConversionRequest,
    Entry,
    EntryRecord,
    JourneyEvent,
    LocalTimeRequest,
    LocalTimeResult,
    Outcome,
    OutcomeStatus,
    Profile,
    SendRequest,
    SendResult,
)

SEND_TIMEOUT = timedelta(minutes=1)
# The send activity heartbeats; a worker that dies mid-send is noticed after this, not SEND_TIMEOUT.
SEND_HEARTBEAT_TIMEOUT = timedelta(seconds=10)
LOOKUP_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
CARRIED_EVENT_IDS = 1_000  # the most recent event ids remembered across continue-as-new
UNWIND_STEPS = 10  # event-loop turns a cancelled body gets to reach its next primitive
ENTRY_RECORD_PATCH = "journey-records-its-entry"
"""Runs started before this patch had their entry written by the router: replaying one must not
issue the entry activity (renaming the patch id breaks replay of runs started after it)."""

RunMethod = Callable[[Any, Entry], Coroutine[Any, Any, Any]]


class JourneyRuntime:
    """A journey's state and the bookkeeping behind its primitives, signals and query."""

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

    # ----- state -----------------------------------------------------------------------------

    @property
    def _started(self) -> Entry:
        """The entry this run started with; primitives only run after it."""
        if self._entry is None:
            raise JourneyDefinitionError("the journey has not started yet")
        return self._entry

    def _receive(self, event: JourneyEvent) -> None:
        """Take in a customer event: repeats are dropped, goal and exit events end the journey,
        awaited ones wait in the inbox for `wait_for`, any other is ignored."""
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

    def _end(self, status: OutcomeStatus, *, reason: str, event: JourneyEvent | None = None) -> None:
        if self._outcome is None:
            variant = encode_variants(self._variants)
            self._outcome = Outcome(status=status, step=self._step, reason=reason, event=event, variant=variant)

    def _send_counts(self) -> tuple[int, int]:
        """Sends attempted and delivered over all runs; holdout skips were never meant to reach."""
        tried = [result for result in self._sends if result.reason != "holdout"]
        attempted = self._earlier.sends_attempted + len(tried)
        return attempted, self._earlier.sends_delivered + sum(result.delivered for result in tried)

    def _completed_outcome(self) -> Outcome:
        """`failed_to_reach` if the journey tried to send and nothing got through, else `completed`."""
        attempted, delivered = self._send_counts()
        status: OutcomeStatus = "failed_to_reach" if attempted and not delivered else "completed"
        return Outcome(status=status, step=self._step, variant=encode_variants(self._variants))

    def _carried(self) -> Carried:
        """What the next run of a continue-as-new takes over from this one."""
        attempted, delivered = self._send_counts()
        return Carried(
            seen_event_ids=list(self._seen_event_ids)[-CARRIED_EVENT_IDS:],
            inbox=list(self._inbox),
            variants=dict(self._variants),
            sends_attempted=attempted,
            sends_delivered=delivered,
            runs=self._earlier.runs + 1,
        )

    def _stop_if_ended(self) -> None:
        """Journey code that reaches a primitive after an exit or goal stops there: the guard's
        cancel can be absorbed by an activity that completed in the same activation."""
        if self._outcome is not None:
            raise asyncio.CancelledError

    def _set_step(self, step: str, details: str, *also: SearchAttributeUpdate[Any]) -> None:
        if step != self._step or also:  # a loop on one step must not write an event per turn
            workflow.upsert_search_attributes([*also, search.JOURNEY_STEP.value_set(step)])
        self._step = step
        workflow.set_current_details(f"**{self.spec.name}** · {details}")

    # ----- the run ---------------------------------------------------------------------------

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
        if entry.carried is None and workflow.patched(ENTRY_RECORD_PATCH):
            await self._record_entry(entry)
        task = asyncio.create_task(body(self, entry))
        await workflow.wait_condition(lambda: task.done() or self._outcome is not None)
        if self._outcome is None:
            returned = task.result()  # re-raises continue-as-new and bugs alike
            self._outcome = returned if isinstance(returned, Outcome) else self._completed_outcome()
        elif not task.done():
            await _unwind(task)
        outcome = self._outcome
        if outcome.status == "converted" and self._goal_event is not None:
            await self._record_conversion(outcome, self._goal_event)
        ending = f"Ended: {outcome.status}" + (f" ({outcome.reason})" if outcome.reason else "")
        self._set_step(f"end:{outcome.status}", ending)
        return outcome

    # ----- activities ------------------------------------------------------------------------

    async def _send_one(self, message: Message, step: str | None, data: dict[str, Any] | None) -> SendResult:
        info = workflow.info()
        step_name = step or f"send:{message.template}"
        self._set_step(step_name, f"Sending {message.channel} `{message.template}`")
        key = f"{info.workflow_id}/{info.run_id}/{len(self._sends) + 1}"
        while True:
            self._stop_if_ended()
            result: SendResult = await workflow.execute_activity(
                names.SEND_MESSAGE,
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
        entry = self._started
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

    async def _resolve_local_time(self, at: time, weekday: int | None, label: str) -> LocalTimeResult:
        answer: LocalTimeResult = await workflow.execute_activity(
            names.RESOLVE_LOCAL_TIME,
            LocalTimeRequest(
                customer_id=self._started.customer_id,
                after=workflow.now().isoformat(),
                at=f"{at:%H:%M}",
                weekday=weekday,
            ),
            result_type=LocalTimeResult,
            start_to_close_timeout=LOOKUP_TIMEOUT,
            retry_policy=RETRY,
            summary=f"resolve {label} local",
        )
        return answer

    async def _load_profile(self) -> Profile:
        answer: Profile = await workflow.execute_activity(
            names.LOAD_PROFILE,
            self._started.customer_id,
            result_type=Profile,
            start_to_close_timeout=LOOKUP_TIMEOUT,
            retry_policy=RETRY,
            summary="load profile",
        )
        return answer

    async def _record_entry(self, entry: Entry) -> None:
        # A local activity: written in the run's first workflow task, with no extra round trip.
        info = workflow.info()
        await workflow.execute_local_activity(
            names.RECORD_ENTRY,
            EntryRecord(
                journey=self.spec.name,
                customer_id=entry.customer_id,
                key=entry.key,
                workflow_id=info.workflow_id,
                run_id=info.run_id,
                trigger_event_id=entry.event.id if entry.event else None,
            ),
            start_to_close_timeout=LOOKUP_TIMEOUT,
            retry_policy=RETRY,
            summary="entry ledger",
        )

    async def _record_conversion(self, outcome: Outcome, event: JourneyEvent) -> None:
        info = workflow.info()
        await workflow.execute_activity(
            names.RECORD_CONVERSION,
            ConversionRequest(
                key=f"{info.workflow_id}/{info.run_id}",
                journey=self.spec.name,
                customer_id=self._started.customer_id,
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


def own_run_method(cls: type[JourneyRuntime]) -> tuple[str, RunMethod]:
    """The `@workflow.run` method the journey class itself defines (name and function)."""
    for attr_name, member in vars(cls).items():
        if inspect.isfunction(member) and hasattr(member, "__temporal_workflow_run"):
            return attr_name, member
    raise JourneyDefinitionError(f"{cls.__name__} needs an `@workflow.run async def run(self, entry: Entry)` method")


def guard(run_fn: RunMethod) -> RunMethod:
    """`run_fn` run under the guard: entered first, ended at once by an exit or goal, always
    returning an Outcome."""

    # functools.wraps keeps the name, qualname, module and annotations Temporal inspects.
    @functools.wraps(run_fn)
    async def run(self: JourneyRuntime, entry: Entry) -> Outcome:
        return await self._run_guarded(run_fn, entry)

    return run
