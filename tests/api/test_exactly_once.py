"""Exactly once by construction: no journey runs without its entry record, no stored event stays
unrouted, and a retry answers what the first attempt did, whatever died in between."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select, update
from temporalio.client import Client

from activities.store.tables import Event, JourneyEntry, OutboxMessage, new_id, utc, utcnow
from starter.routing.registry import JourneyRegistry
from tests.helpers.api_stack import ApiStack, running_stack
from tests.helpers.support import eventually, free_port, make_settings
from workflows.types import JourneyEvent

LONG_AGO = timedelta(hours=1)


@pytest.fixture
async def stack(dev_client: Client, tmp_path: Path, registry: JourneyRegistry) -> AsyncIterator[ApiStack]:
    settings = make_settings(tmp_path, api_port=free_port())
    async with running_stack(dev_client, settings, registry) as stack:
        yield stack


async def stored_unrouted(stack: ApiStack, customer_id: str, idempotency_key: str) -> Event:
    """An event as a request leaves it when its process dies right after storing it: claimed by
    a holder that will never come back."""
    await stack.services.stores.customers.upsert(customer_id, {"email": "ada@example.com"})
    event, fresh = await stack.services.stores.events.record(
        customer_id=customer_id, name="signed_up", properties={}, occurred_at=None, idempotency_key=idempotency_key
    )
    assert fresh
    return event


async def expire_claim(stack: ApiStack, event_id: str) -> None:
    async with stack.services.stores.database.write() as session:
        await session.exec(
            update(Event).where(col(Event.id) == event_id).values(routing_claimed_at=utcnow() - LONG_AGO)
        )


async def entries_of(stack: ApiStack, customer_id: str) -> list[JourneyEntry]:
    async with stack.services.stores.database.session() as session:
        return list((await session.exec(select(JourneyEntry).where(JourneyEntry.customer_id == customer_id))).all())


async def outbox_of(stack: ApiStack, customer_id: str) -> list[OutboxMessage]:
    async with stack.services.stores.database.session() as session:
        return list((await session.exec(select(OutboxMessage).where(OutboxMessage.customer_id == customer_id))).all())


async def test_a_retry_after_the_first_attempt_died_mid_route_names_the_journey_it_started(
    stack: ApiStack, dev_client: Client
) -> None:
    customer_id, key = f"c-{new_id()[:10]}", f"signup-{new_id()}"
    event = await stored_unrouted(stack, customer_id, key)
    # The first attempt reached Temporal, then its process died before writing the answer.
    await stack.services.router.route(
        customer_id, JourneyEvent(id=event.id, name="signed_up", occurred_at=utc(event.occurred_at).isoformat())
    )
    await expire_claim(stack, event.id)

    retry = await stack.http.post(
        "/v1/events", json={"customer_id": customer_id, "name": "signed_up", "idempotency_key": key}
    )

    workflow_id = f"journey/welcome/{customer_id}"
    assert retry.status_code == 202
    assert retry.json() == {"event_id": event.id, "started": [workflow_id], "signalled": [], "routing": "routed"}
    [entry] = await eventually(lambda: entries_of(stack, customer_id))
    description = await dev_client.get_workflow_handle(workflow_id).describe()
    assert (entry.workflow_id, entry.run_id, entry.trigger_event_id) == (workflow_id, description.run_id, event.id)
    assert len(await eventually(lambda: outbox_of(stack, customer_id))) == 1


async def test_a_journey_run_writes_its_own_entry_when_nobody_else_did(stack: ApiStack, dev_client: Client) -> None:
    customer_id = f"c-{new_id()[:10]}"
    await stack.services.stores.customers.upsert(customer_id, {"email": "ada@example.com"})

    # Started, and the router's own entry rows dropped, as by a crash right after the start.
    routing = await stack.services.router.route(customer_id, JourneyEvent(id=new_id(), name="signed_up"))

    [workflow_id] = routing.started
    [entry] = await eventually(lambda: entries_of(stack, customer_id))
    description = await dev_client.get_workflow_handle(workflow_id).describe()
    assert (entry.journey, entry.workflow_id, entry.run_id) == ("welcome", workflow_id, description.run_id)


async def test_an_event_left_unrouted_by_a_dead_process_is_routed_by_the_relay(stack: ApiStack) -> None:
    customer_id = f"c-{new_id()[:10]}"
    event = await stored_unrouted(stack, customer_id, f"signup-{new_id()}")

    await expire_claim(stack, event.id)  # nobody sends it again

    async def routed() -> Event | None:
        stored = await stack.services.stores.events.get(event.id)
        return stored if stored is not None and stored.routed else None

    relayed = await eventually(routed)
    assert relayed.started == [f"journey/welcome/{customer_id}"] and relayed.routing_claimed_at is None
    assert len(await eventually(lambda: outbox_of(stack, customer_id))) == 1


async def test_concurrent_repeats_of_one_key_route_once_and_share_the_answer(stack: ApiStack) -> None:
    customer_id, key = f"c-{new_id()[:10]}", f"signup-{new_id()}"
    await stack.services.stores.customers.upsert(customer_id, {"email": "ada@example.com"})
    body = {"customer_id": customer_id, "name": "signed_up", "idempotency_key": key}

    answers = await asyncio.gather(*(stack.http.post("/v1/events", json=body) for _ in range(8)))

    assert {answer.status_code for answer in answers} == {202}
    assert len({answer.json()["event_id"] for answer in answers}) == 1
    assert {tuple(answer.json()["started"]) for answer in answers} == {(f"journey/welcome/{customer_id}",)}
    assert len(await eventually(lambda: entries_of(stack, customer_id))) == 1
    assert len(await eventually(lambda: outbox_of(stack, customer_id))) == 1
