"""A journey's timeline read back from its Temporal history (following continue-as-new).

`overture simulate` prints it; tests use it to check what was sent when on the journey's own
clock (which, under the time-skipping server, is not the wall clock).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.converter import DataConverter

from workflows import names, search
from workflows.durations import short_duration
from workflows.types import Entry, JourneyEvent, LocalTimeResult, Outcome, SendRequest, SendResult

_ENDINGS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "failed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "terminated",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "timed out",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "canceled",
}


@dataclass(frozen=True)
class Send:
    """One settled send (quiet-hours deferrals folded in): when, what was asked, what happened."""

    at: datetime
    request: SendRequest
    result: SendResult


@dataclass(frozen=True)
class Moment:
    """One line of the timeline (a send line carries its Send)."""

    at: datetime
    kind: str
    text: str
    send: Send | None = None


@dataclass
class Timeline:
    """Everything that happened to one journey instance, in order."""

    started_at: datetime | None = None
    moments: list[Moment] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    outcome: Outcome | None = None
    history_lengths: list[int] = field(default_factory=list)

    def add(self, at: datetime, kind: str, text: str, send: Send | None = None) -> None:
        """Append a line."""
        self.moments.append(Moment(at, kind, text, send))

    def render(self, since: datetime | None = None, annotate: Callable[[Moment], str] | None = None) -> str:
        """The timeline as aligned text lines, times relative to `since` (default: the start);
        `annotate` may add to each line (e.g. a rendered subject)."""
        start = since or self.started_at
        lines = []
        for moment in self.moments:
            offset = "+" + short_duration(moment.at - start) if start else ""
            extra = annotate(moment) if annotate else ""
            lines.append(f"{offset:>10}  {moment.kind:<8} {moment.text}{extra}")
        return "\n".join(lines)


async def read_timeline(client: Client, workflow_id: str) -> Timeline:
    """Read every run of `workflow_id`'s latest chain, from its first run, into a Timeline."""
    latest = await client.get_workflow_handle(workflow_id).fetch_history()
    started = latest.events[0].workflow_execution_started_event_attributes
    run_id: str | None = started.first_execution_run_id or latest.run_id
    reader = _HistoryReader(client.data_converter)
    while run_id is not None:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        reader.timeline.history_lengths.append(len(history.events))
        run_id = await reader.read(history.events)
    return reader.timeline


class _HistoryReader:
    def __init__(self, converter: DataConverter) -> None:
        self.timeline = Timeline()
        self._converter = converter
        self._trigger_id: str | None = None
        self._scheduled: dict[int, tuple[datetime, str, SendRequest | None]] = {}

    async def read(self, events: Sequence[HistoryEvent]) -> str | None:
        """Add one run's events; returns the next run's id after a continue-as-new."""
        for event in events:
            at = event.event_time.ToDatetime().replace(tzinfo=UTC)
            next_run = await self._read_event(event, at)
            if next_run:
                return next_run
        return None

    async def _read_event(self, event: HistoryEvent, at: datetime) -> str | None:
        kind = event.event_type
        if kind in _ENDINGS:
            self.timeline.add(at, "end", _ENDINGS[kind])
            return None
        handler = self._handlers.get(kind)
        return await handler(self, event, at) if handler else None

    async def _started(self, event: HistoryEvent, at: datetime) -> None:
        started = event.workflow_execution_started_event_attributes
        entry = await self._decode(started.input.payloads, Entry)
        if self.timeline.started_at is None:
            self.timeline.started_at = at
            self._trigger_id = entry.event.id if entry.event else None
            how = f"on {_describe(entry.event)}" if entry.event else "by API"
            self.timeline.add(at, "enter", f"{started.workflow_type.name} for {entry.customer_id} {how}")

    async def _signalled(self, event: HistoryEvent, at: datetime) -> None:
        signal = event.workflow_execution_signaled_event_attributes
        if signal.signal_name != names.EVENT_SIGNAL:
            self.timeline.add(at, "signal", signal.signal_name)
            return
        customer_event = await self._decode(signal.input.payloads, JourneyEvent)
        if customer_event.id != self._trigger_id:
            self.timeline.add(at, "event", _describe(customer_event))

    async def _upserted(self, event: HistoryEvent, _at: datetime) -> None:
        fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        if search.JOURNEY_STEP.name in fields:
            self.timeline.steps.append(json.loads(fields[search.JOURNEY_STEP.name].data))

    async def _timer(self, event: HistoryEvent, at: datetime) -> None:
        duration = short_duration(event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta())
        summary = await self._summary(event) or "timer"
        self.timeline.add(at, "wait", summary if summary.endswith(duration) else f"{summary} ({duration})")

    async def _scheduled_activity(self, event: HistoryEvent, at: datetime) -> None:
        scheduled = event.activity_task_scheduled_event_attributes
        name = scheduled.activity_type.name
        request = await self._decode(scheduled.input.payloads, SendRequest) if name == names.SEND_MESSAGE else None
        self._scheduled[event.event_id] = (at, name, request)

    async def _completed_activity(self, event: HistoryEvent, at: datetime) -> None:
        completed = event.activity_task_completed_event_attributes
        # Placed at the moment the journey asked: how long the activity ran is not the journey's time.
        asked_at, name, request = self._scheduled.get(completed.scheduled_event_id, (at, "", None))
        await self._activity_done(name, request, completed.result.payloads, asked_at)

    async def _continued(self, event: HistoryEvent, at: datetime) -> str:
        self.timeline.add(at, "continue", "continued as new (a fresh history)")
        return event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id

    async def _completed(self, event: HistoryEvent, at: datetime) -> None:
        outcome = await self._decode(event.workflow_execution_completed_event_attributes.result.payloads, Outcome)
        self.timeline.outcome = outcome
        reason = f" ({outcome.reason})" if outcome.reason else ""
        variant = f", variant {outcome.variant}" if outcome.variant else ""
        self.timeline.add(at, "end", f"{outcome.status}{reason} at {outcome.step}{variant}")

    _handlers: ClassVar[dict[int, Callable[[_HistoryReader, HistoryEvent, datetime], Awaitable[str | None]]]] = {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: _started,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: _signalled,
        EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: _upserted,
        EventType.EVENT_TYPE_TIMER_STARTED: _timer,
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: _scheduled_activity,
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: _completed_activity,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: _continued,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: _completed,
    }

    async def _activity_done(self, name: str, request: SendRequest | None, payloads: Any, at: datetime) -> None:
        timeline = self.timeline
        if name == names.SEND_MESSAGE and request is not None:
            result = await self._decode(payloads, SendResult)
            what = f"{request.channel} {request.template} [{request.topic}]"
            if request.variant:
                what += f" variant {request.variant}"
            if result.status == "deferred":
                timeline.add(at, "defer", f"{what}: quiet hours until {result.not_before}")
                return
            send = Send(at=at, request=request, result=result)
            timeline.add(
                at, "send", f"{what} -> {result.status}" + (f" ({result.reason})" if result.reason else ""), send
            )
            timeline.sends.append(send)
        elif name == names.RESOLVE_LOCAL_TIME:
            resolved = await self._decode(payloads, LocalTimeResult)
            timeline.add(at, "clock", f"next local time is {resolved.at} ({resolved.timezone})")
        elif name == names.LOAD_PROFILE:
            timeline.add(at, "profile", "read the customer's profile")
        elif name == names.RECORD_CONVERSION:
            timeline.add(at, "convert", "conversion recorded")

    async def _decode(self, payloads: Any, hint: type[Any]) -> Any:
        (value,) = await self._converter.decode(list(payloads), [hint])
        return value

    async def _summary(self, event: HistoryEvent) -> str | None:
        if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
            return None
        summary: Payload = event.user_metadata.summary
        return str(await self._decode([summary], str))


def _describe(event: JourneyEvent) -> str:
    properties = json.dumps(event.properties, ensure_ascii=False) if event.properties else ""
    return f"{event.name} {properties}".strip()
