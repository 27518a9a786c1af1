"""The HTTP API on the real dev server: events in over HTTP, journeys started, messages recorded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from temporalio.client import Client
from temporalio.service import RetryConfig

from activities.store.tables import Delivery, Event, new_id
from starter.dev.temporal_server import TemporalDevServer
from starter.routing.registry import JourneyRegistry
from tests.helpers.api_stack import ApiStack, running_stack
from tests.helpers.support import eventually, free_port, make_settings
from workflows import Journey, Outcome


@pytest.fixture
async def stack(dev_client: Client, tmp_path: Path, registry: JourneyRegistry) -> AsyncIterator[ApiStack]:
    settings = make_settings(tmp_path, api_port=free_port())
    async with running_stack(dev_client, settings, registry) as stack:
        yield stack


def new_customer() -> str:
    return f"c-{new_id()[:10]}"


async def sent_messages(stack: ApiStack, customer_id: str) -> list[dict[str, Any]]:
    response = await stack.http.get(f"/v1/customers/{customer_id}/messages")
    assert response.status_code == 200
    return [row for row in response.json() if row["status"] == "sent"]


async def test_http_event_starts_the_journey_and_records_the_welcome(stack: ApiStack, dev_client: Client) -> None:
    customer_id = new_customer()
    created = await stack.http.put(
        f"/v1/customers/{customer_id}", json={"email": "ada@example.com", "attributes": {"first_name": "Ada"}}
    )
    assert created.status_code == 201

    accepted = await stack.http.post("/v1/events", json={"customer_id": customer_id, "name": "signed_up"})

    assert accepted.status_code == 202
    workflow_id = f"journey/welcome/{customer_id}"
    assert accepted.json()["started"] == [workflow_id] and accepted.json()["signalled"] == []
    messages = await eventually(lambda: sent_messages(stack, customer_id))
    assert [(m["journey"], m["template"], m["channel"], m["provider"]) for m in messages] == [
        ("welcome", "welcome", "email", "outbox")
    ]
    async with stack.services.stores.database.session() as session:
        rows = (await session.exec(select(Delivery).where(Delivery.customer_id == customer_id))).all()
    assert [(row.template, row.status) for row in rows] == [("welcome", "sent")]

    # Operators find it in the UI by customer, journey and step.
    query = f"CustomerId = '{customer_id}' AND JourneyName = 'welcome' AND JourneyStep = 'wait_for:activated'"

    async def listed() -> list[str]:
        return [execution.id async for execution in dev_client.list_workflows(query)]

    assert await eventually(listed) == [workflow_id]

    activated = await stack.http.post("/v1/events", json={"customer_id": customer_id, "name": "activated"})
    assert activated.json()["signalled"] == [workflow_id] and activated.json()["started"] == []
    outcome = await dev_client.get_workflow_handle(workflow_id, result_type=Outcome).result()
    assert outcome.status == "completed"
    assert len(await sent_messages(stack, customer_id)) == 1


async def test_one_idempotency_key_means_one_journey_and_one_message(stack: ApiStack, dev_client: Client) -> None:
    customer_id = new_customer()
    await stack.http.put(f"/v1/customers/{customer_id}", json={"email": "grace@example.com"})
    body = {"customer_id": customer_id, "name": "signed_up", "idempotency_key": f"signup-{customer_id}"}

    concurrent = await asyncio.gather(*(stack.http.post("/v1/events", json=body) for _ in range(4)))
    later = await stack.http.post("/v1/events", json=body)

    first = concurrent[0]
    assert first.status_code == 202
    assert all(reply.status_code == 202 and reply.json() == first.json() for reply in [*concurrent, later])
    assert first.json()["started"] == [f"journey/welcome/{customer_id}"]
    await eventually(lambda: sent_messages(stack, customer_id))
    handle = dev_client.get_workflow_handle(f"journey/welcome/{customer_id}")
    await handle.signal(Journey.on_operator_exit, "test over")
    await handle.result()
    runs = [execution async for execution in dev_client.list_workflows(f"CustomerId = '{customer_id}'")]
    assert len(runs) == 1
    assert len(await sent_messages(stack, customer_id)) == 1
    async with stack.services.stores.database.session() as session:
        events = (await session.exec(select(Event).where(Event.customer_id == customer_id))).all()
    assert len(events) == 1


async def test_an_event_posted_while_temporal_is_down_is_accepted_and_routed_when_it_is_back(
    dev_client: Client, tmp_path: Path, registry: JourneyRegistry
) -> None:
    settings = make_settings(tmp_path, api_port=free_port(), routing_timeout=1.0)
    outage = TemporalDevServer(tmp_path / "doomed.db", port=free_port(), ui_port=None)
    outage.start()
    await outage.ready()
    doomed = await Client.connect(outage.address, retry_config=RetryConfig(max_retries=2, max_elapsed_time_millis=2000))
    outage.stop()  # the API's Temporal goes away after the API connected
    body = {"customer_id": "c-outage", "name": "signed_up", "idempotency_key": "outage-1"}

    async with running_stack(doomed, settings, registry, with_worker=False) as down:
        pending = await down.http.post("/v1/events", json=body)
    async with running_stack(dev_client, settings, registry, with_worker=False) as up:

        async def routed() -> Event | None:
            async with up.services.stores.database.session() as session:
                event = (await session.exec(select(Event).where(Event.customer_id == "c-outage"))).one()
            return event if event.routed else None

        relayed = await eventually(routed)  # by the relay: nobody sent the event again
        resent = await up.http.post("/v1/events", json=body)

    assert pending.status_code == 202 and pending.json()["routing"] == "pending"
    assert pending.json()["started"] == [] and pending.json()["event_id"] == relayed.id
    assert relayed.started == ["journey/welcome/c-outage"]
    assert resent.status_code == 202 and resent.json() == {
        "event_id": relayed.id,
        "started": ["journey/welcome/c-outage"],
        "signalled": [],
        "routing": "routed",
    }
    await dev_client.get_workflow_handle("journey/welcome/c-outage").terminate("no worker in this test")


async def test_events_for_nobody_are_stored_and_start_nothing(stack: ApiStack) -> None:
    customer_id = new_customer()

    response = await stack.http.post(
        "/v1/events", json={"customer_id": customer_id, "name": "page_viewed", "properties": {"path": "/pricing"}}
    )

    assert response.status_code == 202
    assert response.json()["started"] == [] and response.json()["signalled"] == []
    async with stack.services.stores.database.session() as session:
        stored = (await session.exec(select(Event).where(Event.customer_id == customer_id))).one()
    assert (stored.name, stored.properties) == ("page_viewed", {"path": "/pricing"})
    profile = await stack.http.get(f"/v1/customers/{customer_id}")
    assert profile.status_code == 200 and profile.json()["email"] is None


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/events", {"name": "signed_up"}, "customer_id"),
        ("POST", "/v1/events", {"customer_id": "c1", "name": "signed up!"}, "name"),
        ("POST", "/v1/events", {"customer_id": "c1", "name": "x", "occurred_at": "yesterday"}, "occurred_at"),
        ("POST", "/v1/events", {"customer_id": "c1", "name": "x", "colour": "red"}, "colour"),
        ("PUT", "/v1/customers/c1", {"email": "not-an-email"}, "email"),
        ("PUT", "/v1/customers/c1", {"phone": "12345"}, "phone"),
        ("PUT", "/v1/customers/c1", {"timezone": "Mars/Olympus"}, "timezone"),
        ("PUT", "/v1/customers/c1", {"locale": "german please"}, "locale"),
        ("POST", "/v1/journeys/welcome/entries", {"data": {}}, "customer_id"),
    ],
)
async def test_malformed_input_gets_422_naming_the_field(
    stack: ApiStack, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    response = await stack.http.request(method, path, json=body)

    assert response.status_code == 422
    assert field in [error["loc"][-1] for error in response.json()["detail"]]


async def test_journey_entries_by_api(stack: ApiStack, dev_client: Client) -> None:
    customer_id = new_customer()
    body = {"customer_id": customer_id, "data": {"source": "crm"}}

    unknown = await stack.http.post("/v1/journeys/nope/entries", json=body)
    created = await stack.http.post("/v1/journeys/welcome/entries", json=body)
    while_running = await stack.http.post("/v1/journeys/welcome/entries", json=body)
    handle = dev_client.get_workflow_handle(f"journey/welcome/{customer_id}")
    await handle.signal(Journey.on_operator_exit, "test over")
    await handle.result()
    after_it_ended = await stack.http.post("/v1/journeys/welcome/entries", json=body)

    assert unknown.status_code == 404 and "welcome" in unknown.json()["detail"]
    assert created.status_code == 201 and created.json() == {"workflow_id": f"journey/welcome/{customer_id}"}
    assert while_running.status_code == 409
    assert after_it_ended.status_code == 409 and "re-entry: once" in after_it_ended.json()["detail"]


async def test_journeys_are_listed(stack: ApiStack) -> None:
    response = await stack.http.get("/v1/journeys")

    welcome = next(journey for journey in response.json() if journey["name"] == "welcome")
    assert welcome == {
        "name": "welcome",
        "trigger": "signed_up",
        "events": ["activated"],
        "exit_on": ["unsubscribed"],
        "goal": [],
        "reentry": "once",
        "key": None,
        "quiet_hours": None,
    }


async def test_health_reports_both_dependencies(stack: ApiStack) -> None:
    response = await stack.http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "temporal": "ok"}


async def test_api_key_is_enforced_when_configured(
    dev_client: Client, tmp_path: Path, registry: JourneyRegistry
) -> None:
    settings = make_settings(tmp_path, api_port=free_port(), api_key="s3cret")
    async with running_stack(dev_client, settings, registry, with_worker=False) as stack:
        anonymous = await stack.http.get("/v1/journeys")
        wrong = await stack.http.get("/v1/journeys", headers={"Authorization": "Bearer nope"})
        right = await stack.http.get("/v1/journeys", headers={"Authorization": "Bearer s3cret"})
        health = await stack.http.get("/healthz")

    assert (anonymous.status_code, wrong.status_code, right.status_code, health.status_code) == (401, 401, 200, 200)
