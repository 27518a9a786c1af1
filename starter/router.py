"""The event router: delivers a stored event to every journey that cares about it.

Per event name the registry says which journeys it triggers (signal-with-start: starts the
journey, or signals the run already going) and which journeys listen (plain signal to the
running instance; none running means nobody is waiting). Events nobody cares about cost no
Temporal call. Journeys ignore an event id they have seen, so routing an event again is safe.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from starter.registry import JourneyRegistry
from workflows import search
from workflows.spec import JourneySpec, ReEntry
from workflows.types import Entry, JourneyEvent

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

    def __init__(self, client: Client, registry: JourneyRegistry, task_queue: str) -> None:
        self._client = client
        self._registry = registry
        self._task_queue = task_queue

    async def route(self, customer_id: str, event: JourneyEvent) -> Routing:
        """Deliver `event` to the journeys it triggers and the running journeys that listen."""
        triggered = self._registry.triggered_by(event.name)
        listening = self._registry.listening_to(event.name)
        results = await asyncio.gather(
            *(self._trigger(spec, customer_id, event) for spec in triggered),
            *(self._signal(spec, customer_id, event) for spec in listening),
        )
        routing = Routing()
        for kind, workflow_id in results:
            if kind == "started":
                routing.started.append(workflow_id)
            elif kind == "signalled":
                routing.signalled.append(workflow_id)
        return routing

    async def enter(self, spec: JourneySpec, customer_id: str, data: dict[str, Any], key: str | None = None) -> str:
        """Start `spec` for a customer on an API request; EntryRefused if a run is going or
        the re-entry rule forbids another. Returns the workflow id."""
        workflow_id = spec.workflow_id(customer_id, key)
        try:
            await self._client.start_workflow(
                spec.name,
                Entry(customer_id=customer_id, data=data, key=key),
                id=workflow_id,
                task_queue=self._task_queue,
                id_reuse_policy=REUSE_POLICY[spec.reentry],
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=_search_attributes(spec, customer_id),
                static_summary=f"{spec.name} for {customer_id} (API entry)",
            )
        except WorkflowAlreadyStartedError as error:
            raise EntryRefused(f"{workflow_id} is running or its re-entry rule ({spec.reentry}) refuses") from error
        return workflow_id

    async def _trigger(self, spec: JourneySpec, customer_id: str, event: JourneyEvent) -> tuple[str, str]:
        key = _instance_key(spec, event)
        workflow_id = spec.workflow_id(customer_id, key)
        try:
            handle = await self._client.start_workflow(
                spec.name,
                Entry(customer_id=customer_id, event=event, key=key),
                id=workflow_id,
                task_queue=self._task_queue,
                start_signal="event",
                start_signal_args=[event],
                id_reuse_policy=REUSE_POLICY[spec.reentry],
                search_attributes=_search_attributes(spec, customer_id),
                static_summary=f"{spec.name} for {customer_id} (on {event.name})",
            )
        except WorkflowAlreadyStartedError:
            return "refused", workflow_id
        return ("started" if _was_started(handle) else "signalled"), workflow_id

    async def _signal(self, spec: JourneySpec, customer_id: str, event: JourneyEvent) -> tuple[str, str]:
        workflow_id = spec.workflow_id(customer_id, _instance_key(spec, event))
        try:
            await self._client.get_workflow_handle(workflow_id).signal("event", event)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return "not_running", workflow_id
            raise
        return "signalled", workflow_id


def _instance_key(spec: JourneySpec, event: JourneyEvent) -> str | None:
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


def _was_started(handle: WorkflowHandle[Any, Any]) -> bool:
    # The SDK keeps signal-with-start's response (with its `started` flag) only privately.
    response = getattr(handle, "_start_workflow_response", None)
    return bool(getattr(response, "started", True))
