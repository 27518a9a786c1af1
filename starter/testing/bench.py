"""A test bench for journeys on the time-skipping server: real router, real activities, real
SQLite database, outbox delivery. Days pass in milliseconds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.tables import Conversion, Delivery, OutboxMessage, new_id
from starter.routing.router import EventRouter, Routing
from starter.testing.timeline import Timeline, read_timeline
from workflows import Journey
from workflows.spec import JourneySpec
from workflows.types import JourneyEvent, JourneyState, Outcome


class RecordingRouter(EventRouter):
    """The real router, remembering every journey instance it started."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started: list[str] = []

    async def route(self, customer_id: str, event: JourneyEvent) -> Routing:
        routing = await super().route(customer_id, event)
        self.started += routing.started
        return routing

    async def enter(self, spec: JourneySpec, customer_id: str, data: dict[str, Any], key: str | None = None) -> str:
        workflow_id = await super().enter(spec, customer_id, data, key)
        self.started.append(workflow_id)
        return workflow_id


class JourneyBench:
    """Drive journeys by events and time; read back what they sent and how they ended."""

    def __init__(self, env: WorkflowEnvironment, router: RecordingRouter, database: Database) -> None:
        self.env = env
        self.router = router
        self.database = database
        self.customers = CustomerStore(database)

    async def close(self) -> None:
        """Terminate the journeys this test left running: on the shared time-skipping server a
        timer due with no worker to handle it would stall the clock for every later test."""
        for workflow_id in dict.fromkeys(self.router.started):
            handle = self.env.client.get_workflow_handle(workflow_id)
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test over")

    async def customer(self, **profile: Any) -> str:
        """A new customer with this profile (email ada@example.com unless given)."""
        customer_id = f"c-{new_id()[:10]}"
        await self.customers.upsert(customer_id, {"email": "ada@example.com", **profile})
        return customer_id

    async def event(self, customer_id: str, name: str, **properties: Any) -> Routing:
        """Route an event as the API would."""
        return await self.router.route(customer_id, JourneyEvent(id=new_id(), name=name, properties=properties))

    async def sleep(self, duration: timedelta) -> None:
        """Let `duration` pass on the server's clock."""
        await self.env.sleep(duration)

    async def now(self) -> datetime:
        """The server's clock."""
        return await self.env.get_current_time()

    def handle(self, workflow_id: str) -> WorkflowHandle[Any, Outcome]:
        """The journey's workflow handle (its latest run)."""
        return self.env.client.get_workflow_handle(workflow_id, result_type=Outcome)

    async def outcome(self, workflow_id: str) -> Outcome:
        """Wait for the journey to end, letting the server skip time meanwhile."""
        async with self.env.time_skipping_unlocked():  # type: ignore[attr-defined]
            return await self.handle(workflow_id).result()

    async def state(self, workflow_id: str) -> JourneyState:
        """The journey's `state` query."""
        return await self.handle(workflow_id).query(Journey.state)

    async def timeline(self, workflow_id: str) -> Timeline:
        """The journey's history as a timeline (all runs)."""
        return await read_timeline(self.env.client, workflow_id)

    async def deliveries(self, customer_id: str) -> list[Delivery]:
        """The customer's delivery rows, in the order they were written."""
        async with self.database.session() as session:
            query = select(Delivery).where(Delivery.customer_id == customer_id).order_by(col(Delivery.id))
            return list((await session.exec(query)).all())

    async def sent(self, customer_id: str) -> list[str]:
        """Templates actually delivered to the customer, in order."""
        return [row.template for row in await self.deliveries(customer_id) if row.status == "sent"]

    async def outbox(self, customer_id: str) -> list[OutboxMessage]:
        """The rendered messages the outbox provider kept for the customer."""
        async with self.database.session() as session:
            query = (
                select(OutboxMessage).where(OutboxMessage.customer_id == customer_id).order_by(col(OutboxMessage.id))
            )
            return list((await session.exec(query)).all())

    async def conversions(self, customer_id: str) -> list[Conversion]:
        """The customer's recorded conversions."""
        async with self.database.session() as session:
            query = select(Conversion).where(Conversion.customer_id == customer_id).order_by(col(Conversion.id))
            return list((await session.exec(query)).all())
