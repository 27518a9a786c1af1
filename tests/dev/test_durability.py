"""Durability: SIGKILL the worker and the Temporal server while a journey waits, restart both on
the same SQLite file, and the journey finishes with every message recorded exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from sqlmodel import select

from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.entries import EntryLedger
from activities.store.tables import Delivery, OutboxMessage, new_id
from starter.dev.temporal_server import TemporalDevServer
from starter.routing.registry import JourneyRegistry
from starter.routing.router import EventRouter
from tests.helpers.journeys.quick_welcome import QUICK_WAIT
from tests.helpers.processes import sigkill, start_worker
from tests.helpers.support import eventually, free_port, make_settings
from workflows.types import JourneyEvent, Outcome


async def deliveries_of(database: Database, customer_id: str) -> list[Delivery]:
    async with database.session() as session:
        return list((await session.exec(select(Delivery).where(Delivery.customer_id == customer_id))).all())


async def test_journey_survives_sigkill_of_worker_and_server(tmp_path: Path, registry: JourneyRegistry) -> None:
    server = TemporalDevServer(tmp_path / "temporal.db", port=free_port(), ui_port=None)
    settings = make_settings(tmp_path, temporal_address=server.address)
    database = Database(settings.database_url)
    await database.create_tables()
    customer_id = f"c-{new_id()[:8]}"
    await CustomerStore(database).upsert(customer_id, {"email": "ada@example.com"})
    worker_log = tmp_path / "worker.log"
    server.start()
    worker = None
    try:
        client = await server.ready()
        worker = await start_worker(settings, worker_log)
        router = EventRouter(client, registry, settings.task_queue, EntryLedger(database))
        await router.route(customer_id, JourneyEvent(id=new_id(), name="quick_signed_up"))

        async def welcome_sent() -> bool:
            return any(
                row.template == "welcome" and row.status == "sent" for row in await deliveries_of(database, customer_id)
            )

        await eventually(welcome_sent, timeout=60)
        # The journey now waits QUICK_WAIT for `activated`. Crash everything mid-wait, and stay
        # down past the timer's deadline.
        await sigkill(worker)
        server.kill()
        await asyncio.sleep(QUICK_WAIT.total_seconds() + 1)

        server.start()
        client = await server.ready()
        worker = await start_worker(settings, worker_log)
        handle = client.get_workflow_handle(f"journey/quick_welcome/{customer_id}", result_type=Outcome)
        outcome = await asyncio.wait_for(handle.result(), timeout=90)
    finally:
        if worker is not None and worker.returncode is None:
            worker.terminate()
            await worker.wait()
        server.stop()

    assert outcome.status == "completed", worker_log.read_text()
    rows = await deliveries_of(database, customer_id)
    assert Counter((row.template, row.status) for row in rows) == {
        ("welcome", "sent"): 1,
        ("welcome_reminder", "sent"): 1,
    }
    async with database.session() as session:
        outbox = (await session.exec(select(OutboxMessage).where(OutboxMessage.customer_id == customer_id))).all()
    assert sorted(message.delivery_key for message in outbox) == sorted(row.idempotency_key for row in rows)
    await database.close()
