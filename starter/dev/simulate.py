"""`overture simulate`: run a journey for one customer against a scripted list of events, on a
private time-skipping server, and print its timeline. Nothing is sent.

The customer's profile is copied from the configured database when it exists there (flags can
override it); everything the simulation writes goes to a throw-away database through the outbox
provider, so the timeline can show each message as it would have been rendered.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from activities.store.customers import PROFILE_FIELDS, CustomerStore
from activities.store.database import Database, async_url
from activities.store.entries import EntryLedger
from activities.store.tables import OutboxMessage, new_id
from starter.config.settings import Settings
from starter.routing.registry import JourneyRegistry
from starter.routing.router import EventRouter
from starter.runtime.worker import build_worker
from starter.testing.script import ScriptedEvent
from starter.testing.server import start_time_skipping_server
from starter.testing.timeline import Moment, Timeline, read_timeline
from workflows import names
from workflows.durations import short_duration, utc_label
from workflows.spec import JourneySpec
from workflows.types import JourneyEvent


class SimulationError(Exception):
    """The simulation cannot run as asked (unknown journey, a start in the past, ...)."""


@dataclass(frozen=True)
class SimulationRequest:
    """What to simulate: a journey, a customer, a script, and optional profile overrides."""

    journey: str
    customer_id: str
    events: list[ScriptedEvent]
    profile: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    start: datetime | None = None
    horizon: timedelta = timedelta(days=120)


async def simulate(settings: Settings, request: SimulationRequest) -> str:
    """Run the simulation and return the report to print."""
    registry = JourneyRegistry.from_modules(settings.journey_modules)
    journey = registry.get(request.journey)
    if journey is None:
        known = ", ".join(spec.name for spec in registry.specs)
        raise SimulationError(f"unknown journey {request.journey!r}; registered: {known}")
    profile = merge_profile(await stored_profile(settings, request.customer_id), request.profile)
    with tempfile.TemporaryDirectory(prefix="overture-simulate-") as scratch:
        sandbox = settings.model_copy(
            update={"database_url": f"sqlite:///{Path(scratch) / 'simulation.db'}", "task_queue": "simulation"}
        )
        database = Database(sandbox.database_url)
        await database.create_tables()
        await CustomerStore(database).upsert(request.customer_id, profile)
        env = await start_time_skipping_server()
        try:
            run = _Run(env, sandbox, registry, database, journey.spec, request)
            return await run.report(profile)
        finally:
            await env.shutdown()
            await database.close()


class _Run:
    def __init__(
        self,
        env: WorkflowEnvironment,
        settings: Settings,
        registry: JourneyRegistry,
        database: Database,
        spec: JourneySpec,
        request: SimulationRequest,
    ) -> None:
        self.env, self.settings, self.registry, self.database = env, settings, registry, database
        self.spec, self.request = spec, request
        self.router = EventRouter(env.client, registry, settings.task_queue, EntryLedger(database))
        self.instances: list[str] = []
        self.notes: list[str] = []

    async def report(self, profile: dict[str, Any]) -> str:
        async with build_worker(self.env.client, self.settings, self.registry, self.database):
            started_at = await self._start_clock()
            await self._play(started_at)
            await self._advance_to(started_at + self.request.horizon)
            subjects = await self._subjects()
            sections = [await self._section(workflow_id, started_at, subjects) for workflow_id in self.instances]
        if not sections:
            sections = [f"\n(no {self.spec.name} journey started: its trigger is {self.spec.trigger!r})"]
        return "\n".join([_header(self.request, self.spec, profile, started_at), *self.notes, *sections])

    async def _start_clock(self) -> datetime:
        now = await self.env.get_current_time()
        if self.request.start is not None:
            if self.request.start < now:
                raise SimulationError(
                    f"--start {self.request.start:%Y-%m-%d %H:%M} is in the past (now: {utc_label(now)})"
                )
            await self.env.sleep(self.request.start - now)
        return await self.env.get_current_time()

    async def _play(self, started_at: datetime) -> None:
        if not any(event.name == self.spec.trigger for event in self.request.events):
            self.instances.append(await self.router.enter(self.spec, self.request.customer_id, self.request.data))
        for scripted in self.request.events:
            await self._advance_to(started_at + scripted.offset)
            event = JourneyEvent(id=new_id(), name=scripted.name, properties=scripted.properties)
            routing = await self.router.route(self.request.customer_id, event)
            prefix = names.journey_prefix(self.spec.name)
            self.instances += [
                started for started in routing.started if started.startswith(prefix) and started not in self.instances
            ]
            reached = [
                workflow_id for workflow_id in routing.started + routing.signalled if workflow_id.startswith(prefix)
            ]
            if not reached:
                offset = short_duration(scripted.offset)
                self.notes.append(f"note: {scripted.name} at +{offset} reached no running {self.spec.name}")

    async def _advance_to(self, moment: datetime) -> None:
        now = await self.env.get_current_time()
        if moment > now:
            await self.env.sleep(moment - now)

    async def _subjects(self) -> dict[str, str]:
        async with self.database.session() as session:
            messages = (await session.exec(select(OutboxMessage))).all()
        return {message.delivery_key: message.subject or message.text.strip().splitlines()[0] for message in messages}

    async def _section(self, workflow_id: str, started_at: datetime, subjects: dict[str, str]) -> str:
        timeline = await read_timeline(self.env.client, workflow_id)

        def annotate(moment: Moment) -> str:
            if moment.send is None or moment.send.request.idempotency_key not in subjects:
                return ""
            return f'  "{subjects[moment.send.request.idempotency_key]}"'

        lines = [f"\n{workflow_id}", timeline.render(since=started_at, annotate=annotate)]
        if timeline.outcome is None:
            lines.append(_still_running(timeline, self.request.horizon))
        return "\n".join(lines)


async def stored_profile(settings: Settings, customer_id: str) -> dict[str, Any]:
    """The customer's profile from the configured database, or {} (never creating a database)."""
    database = Database(settings.database_url) if _database_exists(settings.database_url) else None
    if database is None:
        return {}
    try:
        customer = await CustomerStore(database).get(customer_id)
    except (OperationalError, ProgrammingError):  # a database without Overture's tables
        customer = None
    finally:
        await database.close()
    if customer is None:
        return {}
    return {name: getattr(customer, name) for name in PROFILE_FIELDS} | {"attributes": dict(customer.attributes)}


def merge_profile(stored: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`overrides` on top of `stored`; attributes merge key by key."""
    attributes = {**stored.get("attributes", {}), **overrides.get("attributes", {})}
    return {
        **stored,
        **{name: value for name, value in overrides.items() if name != "attributes"},
        "attributes": attributes,
    }


def _database_exists(url: str) -> bool:
    parsed = async_url(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    return bool(parsed.database) and Path(str(parsed.database)).exists()


def _header(request: SimulationRequest, spec: JourneySpec, profile: dict[str, Any], started_at: datetime) -> str:
    zone = profile.get("timezone") or "default time zone"
    attributes = profile.get("attributes") or {}
    return (
        f"Simulation of {spec.name} for {request.customer_id} ({zone}"
        + (f", attributes {attributes}" if attributes else "")
        + f"): nothing is sent.\nClock starts {utc_label(started_at)}; times are offsets from then."
    )


def _still_running(timeline: Timeline, horizon: timedelta) -> str:
    step = timeline.steps[-1] if timeline.steps else "entered"
    horizon_label = "+" + short_duration(horizon)
    return f"{horizon_label:>10}  {'running':<8} still at {step} (simulated up to {horizon_label})"
