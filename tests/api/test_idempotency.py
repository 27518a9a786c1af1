"""Idempotency keys: a repeat of the same event gets the first answer; a key reused for another
event gets 409 and stores nothing; keys are each customer's own, so nobody sees another
customer's answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import col, select
from temporalio.client import Client

from activities.store.database import Database
from activities.store.events import EventLog, IdempotencyKeyReused
from activities.store.tables import Event, new_id
from tests.helpers.api_stack import ApiStack

REUSED = {
    "detail": "idempotency key 'order-1' was already used with a different event; use a new key for a new "
    "event, and the same key only to send the same event again"
}


async def events_keyed(database: Database, key: str) -> list[Event]:
    async with database.session() as session:
        rows = await session.exec(select(Event).where(Event.idempotency_key == key).order_by(col(Event.received_at)))
        return list(rows.all())


async def stop_runs(dev_client: Client, *customer_ids: str) -> None:
    for customer_id in customer_ids:
        await dev_client.get_workflow_handle(f"journey/welcome/{customer_id}").terminate("no worker in this test")


async def test_a_key_reused_with_a_different_body_gets_409_and_stores_nothing(
    stack: ApiStack, dev_client: Client
) -> None:
    customer_id = f"c-{new_id()[:10]}"
    first = {"customer_id": customer_id, "name": "signed_up", "properties": {"plan": "pro"}}
    first["idempotency_key"] = "order-1"
    other_body = {**first, "properties": {"plan": "free"}}
    other_name = {**first, "name": "page_viewed"}

    accepted = await stack.http.post("/v1/events", json=first)
    reused = await stack.http.post("/v1/events", json=other_body)
    renamed = await stack.http.post("/v1/events", json=other_name)
    repeated = await stack.http.post("/v1/events", json=first)

    [event] = await events_keyed(stack.services.stores.database, "order-1")
    assert accepted.status_code == 202
    assert accepted.json() == {
        "event_id": event.id,
        "started": [f"journey/welcome/{customer_id}"],
        "signalled": [],
        "routing": "routed",
    }
    assert (reused.status_code, reused.json()) == (409, REUSED)
    assert (renamed.status_code, renamed.json()) == (409, REUSED)
    assert (repeated.status_code, repeated.json()) == (202, accepted.json())
    assert (event.customer_id, event.name, event.properties) == (customer_id, "signed_up", {"plan": "pro"})
    assert event.body_hash is not None and len(event.body_hash) == 64
    await stop_runs(dev_client, customer_id)


async def test_keys_are_each_customers_own_and_never_reveal_another_customers_answer(
    stack: ApiStack, dev_client: Client
) -> None:
    ada, bob = f"ada-{new_id()[:10]}", f"bob-{new_id()[:10]}"

    for_ada = await stack.http.post(
        "/v1/events", json={"customer_id": ada, "name": "signed_up", "idempotency_key": "order-1"}
    )
    for_bob = await stack.http.post(
        "/v1/events", json={"customer_id": bob, "name": "signed_up", "idempotency_key": "order-1"}
    )

    ada_event, bob_event = await events_keyed(stack.services.stores.database, "order-1")
    assert (for_ada.status_code, for_bob.status_code) == (202, 202)
    assert for_ada.json() == {
        "event_id": ada_event.id,
        "started": [f"journey/welcome/{ada}"],
        "signalled": [],
        "routing": "routed",
    }
    assert for_bob.json() == {
        "event_id": bob_event.id,
        "started": [f"journey/welcome/{bob}"],
        "signalled": [],
        "routing": "routed",
    }
    assert (ada_event.customer_id, bob_event.customer_id) == (ada, bob)
    await stop_runs(dev_client, ada, bob)


async def test_a_database_from_before_scoped_keys_answers_409_to_another_customers_key(tmp_path: Path) -> None:
    """An events table created when keys were unique across customers (and bodies not hashed)
    gets the new column on start; a key another customer took is then refused, never answered
    with that customer's event."""
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    async with database.engine.begin() as connection:
        await connection.execute(
            text(
                "CREATE TABLE events (id VARCHAR NOT NULL, customer_id VARCHAR(200) NOT NULL, "
                "name VARCHAR(200) NOT NULL, properties JSON NOT NULL, occurred_at DATETIME NOT NULL, "
                "received_at DATETIME NOT NULL, idempotency_key VARCHAR(200), started JSON, signalled JSON, "
                "routing_claimed_at DATETIME, routing_error VARCHAR, PRIMARY KEY (id), UNIQUE (idempotency_key))"
            )
        )
    await database.create_tables()
    log = EventLog(database)
    try:
        ada_event, fresh = await log.record(
            customer_id="ada", name="page_viewed", properties={}, occurred_at=None, idempotency_key="order-1"
        )
        with pytest.raises(IdempotencyKeyReused):
            await log.record(
                customer_id="bob", name="page_viewed", properties={}, occurred_at=None, idempotency_key="order-1"
            )
        [stored] = await events_keyed(database, "order-1")
    finally:
        await database.close()

    assert fresh
    assert (stored.id, stored.customer_id, stored.body_hash) == (ada_event.id, "ada", ada_event.body_hash)
