"""Size limits: what Temporal could never carry is refused with 413 before anything is stored, a
huge body is refused while it arrives, and Temporal's size refusals are final, not retried."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlmodel import select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.store.tables import Customer, Event, new_id
from starter.routing.intake import EventIntake, IncomingEvent
from starter.routing.limits import refused_for_good
from starter.routing.registry import JourneyRegistry
from tests.helpers.api_stack import ApiStack, running_stack
from tests.helpers.support import free_port, make_settings

MIB = 1024 * 1024


@asynccontextmanager
async def api(dev_client: Client, tmp_path: Path, registry: JourneyRegistry, **limits: int) -> AsyncIterator[ApiStack]:
    """The API without a worker (nothing here runs a journey), with these limits."""
    settings = make_settings(tmp_path, api_port=free_port(), **limits)
    async with running_stack(dev_client, settings, registry, with_worker=False) as stack:
        yield stack


async def stored(stack: ApiStack, customer_id: str) -> tuple[list[Event], list[Customer]]:
    async with stack.services.stores.database.session() as session:
        events = (await session.exec(select(Event).where(Event.customer_id == customer_id))).all()
        customers = (await session.exec(select(Customer).where(Customer.id == customer_id))).all()
    return list(events), list(customers)


def new_customer() -> str:
    return f"c-{new_id()[:10]}"


async def test_a_body_over_the_limit_is_refused_with_413_and_nothing_is_stored(
    dev_client: Client, tmp_path: Path, registry: JourneyRegistry
) -> None:
    customer_id = new_customer()
    body = {"customer_id": customer_id, "name": "signed_up", "properties": {"blob": "x" * (5 * MIB // 2)}}

    async with api(dev_client, tmp_path, registry) as stack:  # the default limits
        response = await stack.http.post("/v1/events", json=body)
        events, customers = await stored(stack, customer_id)

    assert response.status_code == 413
    assert response.json() == {
        "detail": "request body over the limit of 1048576 bytes (OVERTURE_MAX_BODY_BYTES): send less, "
        "e.g. keep large data in your own store and send its id"
    }
    assert (events, customers) == ([], [])


async def test_a_body_without_content_length_is_counted_while_it_arrives(
    dev_client: Client, tmp_path: Path, registry: JourneyRegistry
) -> None:
    customer_id = new_customer()
    text = json.dumps({"customer_id": customer_id, "name": "page_viewed", "properties": {"blob": "x" * 60_000}})

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
        data = text.encode()
        for start in range(0, len(data), 1024):
            yield data[start : start + 1024]

    async with api(dev_client, tmp_path, registry, max_body_bytes=4096) as stack:
        response = await stack.http.post("/v1/events", content=chunks(), headers={"Content-Type": "application/json"})
        events, customers = await stored(stack, customer_id)

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert "limit of 4096 bytes (OVERTURE_MAX_BODY_BYTES)" in response.json()["detail"]
    assert (events, customers) == ([], [])


async def test_properties_temporal_could_not_carry_are_refused_before_they_are_stored(
    dev_client: Client, tmp_path: Path, registry: JourneyRegistry
) -> None:
    refused_customer, accepted_customer = new_customer(), new_customer()
    # 700 characters, 1400 bytes of UTF-8, 4200 bytes as Temporal carries them (\u00e9 each).
    too_large = {"customer_id": refused_customer, "name": "page_viewed", "properties": {"text": "é" * 700}}
    fits = {"customer_id": accepted_customer, "name": "page_viewed", "properties": {"text": "e" * 1900}}

    async with api(dev_client, tmp_path, registry, max_event_properties_bytes=2048) as stack:
        refused = await stack.http.post("/v1/events", json=too_large)
        accepted = await stack.http.post("/v1/events", json=fits)
        refused_rows = await stored(stack, refused_customer)
        [event], [_customer] = await stored(stack, accepted_customer)

    assert refused.status_code == 413
    assert refused.json() == {
        "detail": "event properties take 4211 bytes as JSON (compact, non-ASCII escaped as \\uXXXX), over the "
        "limit of 2048 bytes (OVERTURE_MAX_EVENT_PROPERTIES_BYTES): send less, e.g. keep large data in "
        "your own store and send its id"
    }
    assert refused_rows == ([], [])
    assert accepted.status_code == 202
    assert accepted.json() == {"event_id": event.id, "started": [], "signalled": [], "routing": "routed"}
    assert event.properties == {"text": "e" * 1900}


async def test_entry_data_temporal_could_not_carry_is_refused_and_starts_nothing(
    dev_client: Client, tmp_path: Path, registry: JourneyRegistry
) -> None:
    customer_id = new_customer()

    async with api(dev_client, tmp_path, registry, max_event_properties_bytes=1024) as stack:
        response = await stack.http.post(
            "/v1/journeys/welcome/entries", json={"customer_id": customer_id, "data": {"note": "n" * 2000}}
        )
        events, customers = await stored(stack, customer_id)

    assert response.status_code == 413
    assert response.json()["detail"].startswith("entry data take 2011 bytes as JSON")
    assert (events, customers) == ([], [])
    runs = [execution async for execution in dev_client.list_workflows(f"CustomerId = '{customer_id}'")]
    assert runs == []


async def test_an_event_over_temporals_size_limits_is_refused_for_good_not_left_pending(
    dev_client: Client, tmp_path: Path, registry: JourneyRegistry
) -> None:
    """An event stored before the limits existed (or with limits raised past Temporal's): routing
    it fails on Temporal's size limit, which no retry changes, so it is answered and recorded
    `refused` instead of staying pending (and retried by the relay) for ever."""
    customer_id = new_customer()
    blob = "x" * (5 * MIB // 2)  # over Temporal's 2 MiB per payload; twice in one call: over gRPC's 4 MiB

    async with api(dev_client, tmp_path, registry) as stack:
        unlimited = EventIntake(
            stack.services.stores.events, stack.services.router, routing_timeout=30, max_properties_bytes=8 * MIB
        )
        accepted = await unlimited.accept(
            IncomingEvent(customer_id=customer_id, name="signed_up", properties={"blob": blob})
        )
        [event], [_customer] = await stored(stack, customer_id)

    assert accepted.pending is False
    assert accepted.event.id == event.id
    assert event.routed and event.started == [] and event.signalled == []
    assert event.routing_error is not None and event.routing_error.startswith("Temporal refused the event: ")
    assert event.routing_claimed_at is None  # nobody will route it again
    runs = [execution async for execution in dev_client.list_workflows(f"CustomerId = '{customer_id}'")]
    assert runs == []


def test_size_refusals_are_final_while_outages_and_rate_limits_are_retried() -> None:
    def error(status: RPCStatusCode, message: str) -> RPCError:
        return RPCError(message, status, b"")

    final = [
        error(RPCStatusCode.RESOURCE_EXHAUSTED, "grpc: received message after decompression larger than max 4194304"),
        error(RPCStatusCode.INVALID_ARGUMENT, "Blob data size exceeds limit."),
    ]
    retried = [
        error(RPCStatusCode.RESOURCE_EXHAUSTED, "namespace rate limit exceeded"),
        error(RPCStatusCode.UNAVAILABLE, "connection refused"),
        error(RPCStatusCode.DEADLINE_EXCEEDED, "context deadline exceeded"),
    ]

    assert [refused_for_good(refusal) for refusal in final] == [True, True]
    assert [refused_for_good(outage) for outage in retried] == [False, False, False]


async def test_an_event_the_database_cannot_store_gets_503_with_retry_after_and_nothing_is_stored(
    dev_client: Client, tmp_path: Path, registry: JourneyRegistry
) -> None:
    customer_id = new_customer()

    async with api(dev_client, tmp_path, registry) as stack:
        async with stack.services.stores.database.write() as session:  # the events table is gone
            await (await session.connection()).exec_driver_sql("DROP TABLE events")
        response = await stack.http.post("/v1/events", json={"customer_id": customer_id, "name": "signed_up"})
        async with stack.services.stores.database.session() as session:
            customers = (await session.exec(select(Customer).where(Customer.id == customer_id))).all()

    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json() == {
        "detail": "the database could not store the event (OperationalError); nothing was stored: send it again in 2 s"
    }
    assert customers == []  # the profile insert went with the failed transaction


async def test_the_openapi_document_lists_every_answer_of_the_events_route(
    dev_client: Client, tmp_path: Path, registry: JourneyRegistry
) -> None:
    async with api(dev_client, tmp_path, registry) as stack:
        response = await stack.http.get("/openapi.json")

    assert response.status_code == 200
    answers = response.json()["paths"]["/v1/events"]["post"]["responses"]
    assert sorted(answers) == ["202", "400", "401", "403", "409", "413", "422", "503"]
    models = {code: answer["content"]["application/json"]["schema"]["$ref"] for code, answer in answers.items()}
    assert models == {
        "202": "#/components/schemas/EventAccepted",
        "400": "#/components/schemas/ErrorOut",
        "401": "#/components/schemas/ErrorOut",
        "403": "#/components/schemas/ErrorOut",
        "409": "#/components/schemas/ErrorOut",
        "413": "#/components/schemas/ErrorOut",
        "422": "#/components/schemas/HTTPValidationError",
        "503": "#/components/schemas/ErrorOut",
    }
