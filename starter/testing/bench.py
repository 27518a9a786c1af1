"""The journey bench: your journeys on the time-skipping server with the real router, the real
activities and a throw-away SQLite database; every channel goes to the outbox (in_app: the
inbox), so nothing is ever sent. Days pass in milliseconds.

    async with JourneyBench.start(journey_modules=["mycompany.journeys"],
                                  template_dirs=[Path("mycompany/templates")]) as bench:
        ada = await bench.customer(attributes={"first_name": "Ada"})
        await bench.play(ada, parse_script("+0 trial_started\\n+12d subscribed"))
        assert (await bench.outcome(bench.workflow_id("trial_ending", ada))).status == "completed"
        assert await bench.sent(ada) == []
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import SQLModel, select
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.store.database import Database
from activities.store.tables import Conversion, Delivery, InboxMessage, OutboxMessage, new_id
from starter.config.settings import Settings
from starter.routing.registry import JourneyRegistry
from starter.routing.router import EventRouter, Routing
from starter.runtime.activities import close_activities, journey_activities
from starter.runtime.stores import Stores
from starter.runtime.worker import build_worker
from starter.testing.script import ScriptedEvent
from starter.testing.server import start_time_skipping_server
from starter.testing.settings import journey_overrides, throwaway_settings, with_dev_providers
from starter.testing.timeline import Timeline, read_timeline
from workflows import Journey
from workflows.spec import JourneySpec
from workflows.types import JourneyEvent, JourneyState, Outcome

Row = TypeVar("Row", bound=SQLModel)


class RecordingRouter(EventRouter):
    """The real router, remembering every journey instance it started."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started: list[str] = []

    async def route(self, customer_id: str, event: JourneyEvent, *, again: bool = False) -> Routing:
        routing = await super().route(customer_id, event, again=again)
        self.started += routing.started
        return routing

    async def enter(self, spec: JourneySpec, customer_id: str, data: dict[str, Any], key: str | None = None) -> str:
        workflow_id = await super().enter(spec, customer_id, data, key)
        self.started.append(workflow_id)
        return workflow_id


@dataclass(frozen=True)
class Played:
    """One scripted event as `JourneyBench.play` routed it: when (on the server's clock) and
    which journeys it started or reached."""

    event: ScriptedEvent
    at: datetime
    routing: Routing


class JourneyBench:
    """Drive journeys by events and time; read back what they sent and how they ended.

    Open one with `JourneyBench.start(...)` (or the `bench` fixture of
    `starter.testing.pytest_plugin`)."""

    def __init__(
        self, env: WorkflowEnvironment, settings: Settings, registry: JourneyRegistry, database: Database
    ) -> None:
        self.env = env
        self.settings = settings
        self.registry = registry
        self.database = database
        self.stores = Stores.on(database, settings)
        self.customers = self.stores.customers
        self.router = RecordingRouter(env.client, registry, settings.task_queue, self.stores.entries)

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        *,
        journey_modules: Sequence[str] | None = None,
        template_dirs: Sequence[Path] | None = None,
        settings: Settings | None = None,
        env: WorkflowEnvironment | None = None,
        worker: bool = True,
        keep_providers: bool = False,
    ) -> AsyncIterator[JourneyBench]:
        """A bench for the journeys in `journey_modules` with the templates in `template_dirs`
        (default: the bundled ones), on throw-away settings (`throwaway_settings`: the machine's
        environment and `.env` are not read).

        `settings`: run on these (database, task queue, quiet hours, ...) instead. `env`: a
        time-skipping server to share (e.g. one per test session; journeys left running are
        terminated on exit so they cannot stall its clock); by default the bench starts its own.
        `worker=False`: no worker until `async with bench.worker()`, so events queue up in
        Temporal. Every channel goes to the outbox (in_app: the inbox) whatever the settings say,
        unless `keep_providers` (for a test against a local fake provider). Journey code always runs
        in the strict sandbox here (`worker_shared_journey_modules` off), so a journey's test fails
        on the `datetime.now()`, `random` or I/O a production worker would not stop."""
        async with contextlib.AsyncExitStack() as stack:
            if settings is None:
                state_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="overture-bench-")))
                settings = throwaway_settings(state_dir, journey_modules=journey_modules, template_dirs=template_dirs)
            else:
                settings = settings.model_copy(update=journey_overrides(journey_modules, template_dirs))
            if not keep_providers:
                settings = with_dev_providers(settings)
            settings = settings.model_copy(update={"worker_shared_journey_modules": False})
            registry = JourneyRegistry.from_modules(settings.journey_modules)
            database = Database(settings.database_url)
            stack.push_async_callback(database.close)
            await database.create_tables()
            shared = env is not None
            if env is None:
                env = await start_time_skipping_server()
                stack.push_async_callback(env.shutdown)
            bench = cls(env, settings, registry, database)
            if shared:  # a server of the bench's own goes away with everything on it
                stack.push_async_callback(bench.close)
            if worker:
                await stack.enter_async_context(bench.worker())
            yield bench

    @contextlib.asynccontextmanager
    async def worker(self) -> AsyncIterator[None]:
        """Run the worker (the bench's journeys, the real activities) while inside the block."""
        activities = journey_activities(self.settings, self.stores)
        try:
            async with build_worker(self.env.client, self.settings, self.registry, self.database, activities):
                yield
        finally:
            await close_activities(activities)

    async def close(self) -> None:
        """Terminate the journeys this bench left running: on a shared time-skipping server a
        timer due with no worker to handle it would stall the clock for every later test."""
        for workflow_id in dict.fromkeys(self.router.started):
            handle = self.env.client.get_workflow_handle(workflow_id)
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test over")

    # ----- customers, events, entries, time ------------------------------------------------------

    async def customer(self, customer_id: str | None = None, /, **profile: Any) -> str:
        """Create or update a customer with this profile (email ada@example.com unless given);
        a fresh id unless `customer_id` is given. Returns the id."""
        customer_id = customer_id or f"c-{new_id()[:10]}"
        await self.customers.upsert(customer_id, {"email": "ada@example.com", **profile})
        return customer_id

    async def event(self, customer_id: str, name: str, /, **properties: Any) -> Routing:
        """Route an event as the API would: the journeys it started and the running ones it reached."""
        return await self._route(customer_id, JourneyEvent(id=new_id(), name=name, properties=properties))

    async def _route(self, customer_id: str, event: JourneyEvent) -> Routing:
        routing = await self.router.route(customer_id, event)
        await self.stores.entries.record(routing.entries)  # as the API does with its answer
        return routing

    async def enter(
        self, journey: str, customer_id: str, data: Mapping[str, Any] | None = None, *, key: str | None = None
    ) -> str:
        """Enter the customer into `journey` as `POST /v1/journeys/{name}/entries` would; the
        workflow id. EntryRefused when the journey's re-entry rule says no."""
        return await self.router.enter(self._spec(journey), customer_id, dict(data or {}), key)

    def workflow_id(self, journey: str, customer_id: str, key: str | None = None) -> str:
        """The workflow id of the customer's instance of `journey` (`key`: the instance key)."""
        return self._spec(journey).workflow_id(customer_id, key)

    @property
    def started(self) -> list[str]:
        """Workflow ids of every journey instance this bench started, in order."""
        return list(self.router.started)

    async def sleep(self, duration: timedelta) -> None:
        """Let `duration` pass on the server's clock."""
        await self.env.sleep(duration)

    async def now(self) -> datetime:
        """The server's clock."""
        return await self.env.get_current_time()

    async def advance_to(self, moment: datetime) -> None:
        """Let the server's clock run to `moment` (nothing happens if it is already past)."""
        now = await self.now()
        if moment > now:
            await self.env.sleep(moment - now)

    async def play(
        self, customer_id: str, script: Iterable[ScriptedEvent], *, since: datetime | None = None
    ) -> list[Played]:
        """Route each scripted event for the customer at its offset from `since` (default: now),
        in offset order, letting the server's clock run to each. Returns what each one reached."""
        start = since or await self.now()
        played = []
        for scripted in sorted(script, key=lambda event: event.offset):
            at = start + scripted.offset
            await self.advance_to(at)
            event = JourneyEvent(id=new_id(), name=scripted.name, properties=dict(scripted.properties))
            played.append(Played(event=scripted, at=at, routing=await self._route(customer_id, event)))
        return played

    # ----- journeys ----------------------------------------------------------------------------

    def handle(self, workflow_id: str) -> WorkflowHandle[Any, Outcome]:
        """The journey's workflow handle (its latest run)."""
        return self.env.client.get_workflow_handle(workflow_id, result_type=Outcome)

    async def outcome(self, workflow_id: str) -> Outcome:
        """Wait for the journey to end, letting the server skip time meanwhile."""
        async with self.env.time_skipping_unlocked():  # type: ignore[attr-defined]
            return await self.handle(workflow_id).result()

    async def state(self, workflow_id: str) -> JourneyState:
        """The journey's `state` query: its step, what it waits for, its sends, its outcome."""
        return await self.handle(workflow_id).query(Journey.state)

    async def timeline(self, workflow_id: str) -> Timeline:
        """The journey's history as a timeline (all runs): what it sent when, on its own clock."""
        return await read_timeline(self.env.client, workflow_id)

    # ----- what was sent -----------------------------------------------------------------------

    async def deliveries(self, customer_id: str) -> list[Delivery]:
        """The customer's delivery rows (sent, skipped, failed, ...), in the order they were written."""
        return await self._rows(Delivery, customer_id)

    async def sent(self, customer_id: str) -> list[str]:
        """Templates actually delivered to the customer, in order."""
        return [row.template for row in await self.deliveries(customer_id) if row.status == "sent"]

    async def outbox(self, customer_id: str, template: str | None = None) -> list[OutboxMessage]:
        """The rendered messages the outbox kept for the customer (only `template`'s, if given)."""
        if template is None:
            return await self._rows(OutboxMessage, customer_id)
        keys = {row.idempotency_key for row in await self.deliveries(customer_id) if row.template == template}
        return [message for message in await self._rows(OutboxMessage, customer_id) if message.delivery_key in keys]

    async def inbox(self, customer_id: str) -> list[InboxMessage]:
        """The customer's in-app inbox messages."""
        return await self._rows(InboxMessage, customer_id)

    async def conversions(self, customer_id: str) -> list[Conversion]:
        """The customer's recorded conversions."""
        return await self._rows(Conversion, customer_id)

    async def _rows(self, table: type[Row], customer_id: str) -> list[Row]:
        columns: Any = table  # each table read here has `customer_id` and an autoincrement `id`
        async with self.database.session() as session:
            query = select(table).where(columns.customer_id == customer_id).order_by(columns.id)
            return list((await session.exec(query)).all())

    def _spec(self, journey: str) -> JourneySpec:
        found = self.registry.get(journey)
        if found is None:
            known = ", ".join(spec.name for spec in self.registry.specs) or "none"
            raise LookupError(
                f"no journey {journey!r} on this bench (registered: {known}); "
                f"is its module in journey_modules ({', '.join(self.settings.journey_modules)})?"
            )
        return found.spec
