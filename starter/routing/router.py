"""The event router: delivers a stored event to every journey that cares about it.

Per event name the registry says which journeys it triggers (start the journey, or signal the
run already going) and which journeys listen (plain signal to the running instance; none
running means nobody is waiting). Events nobody cares about cost no
Temporal call. Journeys ignore an event id they have seen, so routing an event again is safe.

Journeys with several instances per customer (a `key`, or re-entry `always`) get listened events
at the instance the event's key names, or, for events without one (e.g. `unsubscribed`), at
every instance the entry ledger knows to be open.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog
from temporalio.client import Client
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
from workflows import Journey, search
from workflows.spec import JourneySpec, ReEntry
from workflows.types import Entry, JourneyEvent

logger = structlog.get_logger(__name__)

START_ATTEMPTS = 3
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


class EventRouter:
    """Starts and signals journey workflows for events and API entries."""

    def __init__(self, client: Client, registry: JourneyRegistry, task_queue: str, entries: EntryLedger) -> None:
        self._client = client
        self._registry = registry
        self._task_queue = task_queue
        self._entries = entries

    async def route(self, customer_id: str, event: JourneyEvent) -> Routing:
        """Deliver `event` to the journeys it triggers and the running journeys that listen."""
        outcomes = await asyncio.gather(
            *(self._trigger(spec, customer_id, event) for spec in self._registry.triggered_by(event.name)),
            *(self._signal(spec, customer_id, event) for spec in self._registry.listening_to(event.name)),
        )
        routing = Routing()
        for results in outcomes:
            for kind, workflow_id in results:
                if kind == "started":
                    routing.started.append(workflow_id)
                elif kind == "signalled":
                    routing.signalled.append(workflow_id)
        return routing

    async def enter(self, spec: JourneySpec, customer_id: str, data: dict[str, Any], key: str | None = None) -> str:
        """Start `spec` for a customer on an API request; EntryRefused if that instance is running
        or the re-entry rule forbids another. Returns the workflow id."""
        if spec.reentry == "once" and await self._entries.has_entered(spec.name, customer_id, key):
            raise EntryRefused(f"{customer_id} already entered {spec.name} (re-entry: once)")
        instance = key or (uuid.uuid4().hex if spec.reentry == "always" else None)
        workflow_id = spec.workflow_id(customer_id, instance)
        try:
            await self._start(spec, Entry(customer_id=customer_id, data=data, key=key), workflow_id, "API entry")
        except WorkflowAlreadyStartedError as error:
            raise EntryRefused(f"{workflow_id} is running, or its re-entry rule ({spec.reentry}) refuses") from error
        return workflow_id

    async def _trigger(self, spec: JourneySpec, customer_id: str, event: JourneyEvent) -> list[tuple[str, str]]:
        key = _key_of(spec, event)
        if spec.key is not None and key is None:
            logger.warning("event.trigger_without_key", journey=spec.name, event=event.name, key=spec.key)
            return [("refused", spec.workflow_id(customer_id))]
        if spec.reentry == "once" and await self._entries.has_entered(spec.name, customer_id, key):
            return [("refused", spec.workflow_id(customer_id, key))]
        instance = key or (event.id if spec.reentry == "always" else None)
        workflow_id = spec.workflow_id(customer_id, instance)
        # Start, else hand the event to the run that is going. (Not signal-with-start: whether it
        # started a run is not reported by every server, and the entry ledger must know.)
        for _attempt in range(START_ATTEMPTS):
            try:
                await self._start(
                    spec, Entry(customer_id=customer_id, event=event, key=key), workflow_id, f"on {event.name}"
                )
            except WorkflowAlreadyStartedError:
                if await self._deliver(workflow_id, event):
                    return [("signalled", workflow_id)]
                if spec.reentry == "once":
                    return [("refused", workflow_id)]
                continue  # the run ended between the two calls: start a new one
            return [("started", workflow_id)]
        return [("refused", workflow_id)]

    async def _start(self, spec: JourneySpec, entry: Entry, workflow_id: str, how: str) -> None:
        """Start one instance (WorkflowAlreadyStartedError if it runs or may not run again) and
        write it to the entry ledger."""
        await self._client.start_workflow(
            spec.name,
            entry,
            id=workflow_id,
            task_queue=self._task_queue,
            id_reuse_policy=REUSE_POLICY[spec.reentry],
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=_search_attributes(spec, entry.customer_id),
            static_summary=f"{spec.name} for {entry.customer_id} ({how})",
        )
        await self._entries.record(
            journey=spec.name,
            customer_id=entry.customer_id,
            key=entry.key,
            workflow_id=workflow_id,
            trigger_event_id=entry.event.id if entry.event else None,
        )

    async def _signal(self, spec: JourneySpec, customer_id: str, event: JourneyEvent) -> list[tuple[str, str]]:
        key = _key_of(spec, event)
        if not spec.instanced or key is not None:
            workflow_id = spec.workflow_id(customer_id, key)
            return [("signalled" if await self._deliver(workflow_id, event) else "not_running", workflow_id)]
        instances = await self._entries.open_instances(spec.name, customer_id)
        delivered = await asyncio.gather(*(self._deliver(entry.workflow_id, event) for entry in instances))
        await self._entries.mark_closed(
            [entry.id for entry, ok in zip(instances, delivered, strict=True) if not ok and entry.id is not None]
        )
        return [
            ("signalled" if ok else "not_running", entry.workflow_id)
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
