"""`overture simulate`: run a journey for one customer against a scripted list of events, on a
journey bench of its own (a private time-skipping server), and print its timeline. Nothing is sent.

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

from activities.store.customers import PROFILE_FIELDS, CustomerStore
from activities.store.database import Database, async_url
from starter.config.settings import Settings
from starter.routing.registry import JourneyRegistry
from starter.testing.bench import JourneyBench
from starter.testing.script import ScriptedEvent
from starter.testing.timeline import Moment, Timeline
from workflows import names
from workflows.durations import short_duration, utc_label
from workflows.spec import JourneySpec


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
        # The user's rules (time zone, quiet hours, caps), on throw-away state; the bench sends
        # nothing whatever providers the settings name.
        sandbox = settings.model_copy(
            update={
                "database_url": f"sqlite:///{Path(scratch) / 'simulation.db'}",
                "state_dir": Path(scratch),
                "task_queue": "simulation",
            }
        )
        async with JourneyBench.start(settings=sandbox) as bench:
            await bench.customers.upsert(request.customer_id, profile)
            return await _Run(bench, journey.spec, request).report(profile)


class _Run:
    def __init__(self, bench: JourneyBench, spec: JourneySpec, request: SimulationRequest) -> None:
        self.bench, self.spec, self.request = bench, spec, request
        self.instances: list[str] = []
        self.notes: list[str] = []

    async def report(self, profile: dict[str, Any]) -> str:
        started_at = await self._start_clock()
        await self._play(started_at)
        await self.bench.advance_to(started_at + self.request.horizon)
        subjects = await self._subjects()
        sections = [await self._section(workflow_id, started_at, subjects) for workflow_id in self.instances]
        if not sections:
            sections = [f"\n(no {self.spec.name} journey started: its trigger is {self.spec.trigger!r})"]
        return "\n".join([_header(self.request, self.spec, profile, started_at), *self.notes, *sections])

    async def _start_clock(self) -> datetime:
        now = await self.bench.now()
        if self.request.start is not None:
            if self.request.start < now:
                raise SimulationError(
                    f"--start {self.request.start:%Y-%m-%d %H:%M} is in the past (now: {utc_label(now)})"
                )
            await self.bench.advance_to(self.request.start)
        return await self.bench.now()

    async def _play(self, started_at: datetime) -> None:
        customer_id, events = self.request.customer_id, self.request.events
        if not any(event.name == self.spec.trigger for event in events):
            self.instances.append(await self.bench.enter(self.spec.name, customer_id, self.request.data))
        prefix = names.journey_prefix(self.spec.name)
        for played in await self.bench.play(customer_id, events, since=started_at):
            routing = played.routing
            self.instances += [
                started for started in routing.started if started.startswith(prefix) and started not in self.instances
            ]
            if not any(workflow_id.startswith(prefix) for workflow_id in routing.started + routing.signalled):
                offset = short_duration(played.event.offset)
                self.notes.append(f"note: {played.event.name} at +{offset} reached no running {self.spec.name}")

    async def _subjects(self) -> dict[str, str]:
        messages = await self.bench.outbox(self.request.customer_id)
        return {message.delivery_key: message.subject or message.text.strip().splitlines()[0] for message in messages}

    async def _section(self, workflow_id: str, started_at: datetime, subjects: dict[str, str]) -> str:
        timeline = await self.bench.timeline(workflow_id)

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
