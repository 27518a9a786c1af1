"""The event router: delivers a stored event to every journey that cares about it.

Per event name the registry says which journeys it triggers (start the journey, or signal the
run already going) and which journeys listen (plain signal to the running instance; none
running means nobody is waiting). Events nobody cares about cost no
Temporal call. Journeys ignore an event id they have seen, so routing an event again is safe.

A triggering event costs one Temporal call per journey: signal-with-start starts the instance,
or hands the event to the run already going (the journey treats its trigger arriving as the start
signal as its entry, not as a later event). The runs write their own entry-ledger rows.

Journeys with several instances per customer (a `key`, or re-entry `always`) get listened events
at the instance the event's key names, or, for events without one (e.g. `unsubscribed`), at
every instance the entry ledger knows to be open.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.store.entries import EntryLedger
from starter.routing.registry import JourneyRegistry
from workflows import Journey, names, search
from workflows.spec import JourneySpec, ReEntry
from workflows.types import Entry, EntryRecord, JourneyEvent

logger = structlog.get_logger(__name__)

START_ATTEMPTS = 3
SIGNAL_WITH_START_REPORTS_SINCE = (1, 25)
REUSE_POLICY: dict[ReEntry, WorkflowIDReusePolicy] = {
    "once": WorkflowIDReusePolicy.REJECT_DUPLICATE,
    "after_exit": WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    "always": WorkflowIDReusePolicy.ALLOW_DUPLICATE,
}


class EntryRefused(Exception):
    """The journey's re-entry rule does not let this customer in again (yet)."""


@dataclass
class Routing:
    """Where one event went: journeys started, running journeys signalled."""

    started: list[str] = field(default_factory=list)
    signalled: list[str] = field(default_factory=list)
    entries: list[EntryRecord] = field(default_factory=list)
    """The entry-ledger rows of the runs started (the caller writes them with its answer)."""


@dataclass(frozen=True)
class _Reached:
    kind: Literal["started", "signalled", "refused", "not_running"]
    workflow_id: str
    entry: EntryRecord | None = None


class EventRouter:
    """Starts and signals journey workflows for events and API entries."""

    def __init__(self, client: Client, registry: JourneyRegistry, task_queue: str, entries: EntryLedger) -> None:
        self._client = client
        self._registry = registry
        self._task_queue = task_queue
        self._entries = entries
        self._signal_with_start: bool | None = None

    def cares_about(self, event_name: str) -> bool:
        """Whether any journey starts on or listens to this event (if not, routing is a no-op)."""
        return bool(self._registry.triggered_by(event_name) or self._registry.listening_to(event_name))

    async def route(self, customer_id: str, event: JourneyEvent, *, again: bool = False) -> Routing:
        """Deliver `event` to the journeys it triggers and the running journeys that listen.

        `again` says an earlier attempt may have reached Temporal (a retry after a crash or a
        timeout): a run found going is then checked for having been started by this very event,
        so the answer names it as started, as the first attempt would have.
        """
        outcomes = await asyncio.gather(
            *(self._trigger(spec, customer_id, event, again) for spec in self._registry.triggered_by(event.name)),
            *(self._signal(spec, customer_id, event) for spec in self._registry.listening_to(event.name)),
        )
        routing = Routing()
        for results in outcomes:
            for reached in results:
                if reached.kind == "started":
                    routing.started.append(reached.workflow_id)
                elif reached.kind == "signalled":
                    routing.signalled.append(reached.workflow_id)
                if reached.entry is not None:
                    routing.entries.append(reached.entry)
        return routing

    async def enter(self, spec: JourneySpec, customer_id: str, data: dict[str, Any], key: str | None = None) -> str:
        """Start `spec` for a customer on an API request; EntryRefused if that instance is running
        or the re-entry rule forbids another. Returns the workflow id."""
        if spec.reentry == "once" and await self._entries.has_entered(spec.name, customer_id, key):
            raise EntryRefused(f"{customer_id} already entered {spec.name} (re-entry: once)")
        instance = key or (uuid.uuid4().hex if spec.reentry == "always" else None)
        workflow_id = spec.workflow_id(customer_id, instance)
        entry = Entry(customer_id=customer_id, data=data, key=key)
        try:
            run_id = (await self._start(spec, entry, workflow_id, "API entry")).result_run_id
        except WorkflowAlreadyStartedError as error:
            raise EntryRefused(f"{workflow_id} is running, or its re-entry rule ({spec.reentry}) refuses") from error
        record = _entry_record(spec, entry, workflow_id, run_id)
        await self._entries.record([record] if record else [])
        return workflow_id

    async def _trigger(self, spec: JourneySpec, customer_id: str, event: JourneyEvent, again: bool) -> list[_Reached]:
        key = _key_of(spec, event)
        if spec.key is not None and key is None:
            logger.warning("event.trigger_without_key", journey=spec.name, event=event.name, key=spec.key)
            return [_Reached("refused", spec.workflow_id(customer_id))]
        instance = key or (event.id if spec.reentry == "always" else None)
        workflow_id = spec.workflow_id(customer_id, instance)
        if spec.reentry == "once" and await self._entries.has_entered(spec.name, customer_id, key):
            if again and workflow_id in await self._entries.started_by(event.id):
                return [_Reached("started", workflow_id)]
            return [_Reached("refused", workflow_id)]
        entry = Entry(customer_id=customer_id, event=event, key=key)
        if not await self._reports_signal_with_start():
            return await self._start_else_signal(spec, entry, workflow_id, again)
        try:
            handle = await self._start(spec, entry, workflow_id, f"on {event.name}", signal=event)
        except WorkflowAlreadyStartedError as refused:  # closed, and re-entry `once` keeps it closed
            return [await self._refused(spec, entry, workflow_id, refused, again)]
        run_id = handle.result_run_id
        if _started(handle) or (again and await self._started_by(workflow_id, run_id, event.id)):
            return [_Reached("started", workflow_id, _entry_record(spec, entry, workflow_id, run_id))]
        return [_Reached("signalled", workflow_id)]

    async def _refused(
        self, spec: JourneySpec, entry: Entry, workflow_id: str, refused: WorkflowAlreadyStartedError, again: bool
    ) -> _Reached:
        """A start refused: `started` after all if an earlier attempt of this event started that run."""
        assert entry.event is not None
        if again and refused.run_id and await self._started_by(workflow_id, refused.run_id, entry.event.id):
            return _Reached("started", workflow_id, _entry_record(spec, entry, workflow_id, refused.run_id))
        return _Reached("refused", workflow_id)

    async def _start_else_signal(
        self, spec: JourneySpec, entry: Entry, workflow_id: str, again: bool
    ) -> list[_Reached]:
        """Two calls where signal-with-start does not say whether it started a run (the
        time-skipping test server): start, else hand the event to the run that is going."""
        assert entry.event is not None
        for _attempt in range(START_ATTEMPTS):
            try:
                run_id = (await self._start(spec, entry, workflow_id, f"on {entry.event.name}")).result_run_id
            except WorkflowAlreadyStartedError as refused:
                if (reached := await self._refused(spec, entry, workflow_id, refused, again)).kind == "started":
                    return [reached]
                if await self._deliver(workflow_id, entry.event):
                    return [_Reached("signalled", workflow_id)]
                if spec.reentry == "once":
                    return [_Reached("refused", workflow_id)]
                continue  # the run ended between the two calls: start a new one
            return [_Reached("started", workflow_id, _entry_record(spec, entry, workflow_id, run_id))]
        return [_Reached("refused", workflow_id)]

    async def _reports_signal_with_start(self) -> bool:
        """Whether the server says if signal-with-start started a run (Temporal Server 1.25+)."""
        if self._signal_with_start is None:
            info = await self._client.workflow_service.get_system_info(GetSystemInfoRequest())
            version = tuple(int(part) for part in re.findall(r"\d+", info.server_version)[:2])
            self._signal_with_start = version >= SIGNAL_WITH_START_REPORTS_SINCE
        return self._signal_with_start

    async def _started_by(self, workflow_id: str, run_id: str | None, event_id: str) -> bool:
        """True if that run's entry is this event (read from its history's first event)."""
        handle = self._client.get_workflow_handle(workflow_id, run_id=run_id)
        async for first in handle.fetch_history_events(page_size=1):
            arguments = first.workflow_execution_started_event_attributes.input.payloads
            if not arguments:
                return False
            [entry] = await self._client.data_converter.decode(arguments[:1], [Entry])
            return isinstance(entry, Entry) and entry.event is not None and entry.event.id == event_id
        return False

    async def _start(
        self, spec: JourneySpec, entry: Entry, workflow_id: str, how: str, signal: JourneyEvent | None = None
    ) -> WorkflowHandle[Any, Any]:
        """Start one instance (WorkflowAlreadyStartedError if it runs or may not run again); with
        `signal`, signal-with-start: a running instance gets the event instead."""
        return await self._client.start_workflow(
            spec.name,
            entry,
            id=workflow_id,
            task_queue=self._task_queue,
            id_reuse_policy=REUSE_POLICY[spec.reentry],
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL
            if signal is None
            else WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=None if signal is None else names.EVENT_SIGNAL,
            start_signal_args=[] if signal is None else [signal],
            search_attributes=_search_attributes(spec, entry.customer_id),
            static_summary=f"{spec.name} for {entry.customer_id} ({how})",
        )

    async def _signal(self, spec: JourneySpec, customer_id: str, event: JourneyEvent) -> list[_Reached]:
        key = _key_of(spec, event)
        if not spec.instanced or key is not None:
            workflow_id = spec.workflow_id(customer_id, key)
            return [_Reached("signalled" if await self._deliver(workflow_id, event) else "not_running", workflow_id)]
        instances = await self._entries.open_instances(spec.name, customer_id)
        delivered = await asyncio.gather(*(self._deliver(entry.workflow_id, event) for entry in instances))
        await self._entries.mark_closed(
            [entry.id for entry, ok in zip(instances, delivered, strict=True) if not ok and entry.id is not None]
        )
        return [
            _Reached("signalled" if ok else "not_running", entry.workflow_id)
            for entry, ok in zip(instances, delivered, strict=True)
        ]

    async def _deliver(self, workflow_id: str, event: JourneyEvent) -> bool:
        """Signal the running instance; False if none runs under that id."""
        try:
            await self._client.get_workflow_handle(workflow_id).signal(Journey.on_event, event)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True


def _entry_record(spec: JourneySpec, entry: Entry, workflow_id: str, run_id: str | None) -> EntryRecord | None:
    if run_id is None:
        return None
    return EntryRecord(
        journey=spec.name,
        customer_id=entry.customer_id,
        key=entry.key,
        workflow_id=workflow_id,
        run_id=run_id,
        trigger_event_id=entry.event.id if entry.event else None,
    )


def _started(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether signal-with-start started a run (True) or signalled the one going (False).

    The SDK keeps the server's answer on the handle but has no public name for it yet.
    """
    response = getattr(handle, "_start_workflow_response", None)
    return bool(getattr(response, "started", False))


def _key_of(spec: JourneySpec, event: JourneyEvent) -> str | None:
    if spec.key is None:
        return None
    value = event.properties.get(spec.key)
    return None if value is None else str(value)


def _search_attributes(spec: JourneySpec, customer_id: str) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(search.CUSTOMER_ID, customer_id),
            SearchAttributePair(search.JOURNEY_NAME, spec.name),
            SearchAttributePair(search.JOURNEY_STEP, "entered"),
        ]
    )
