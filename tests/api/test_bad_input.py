"""Bad input on the real API (uvicorn, dev server, SQLite file): each gets a clear 4xx, never a
500, and leaves nothing wrong in the database. One test per finding of the hardening review."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select
from temporalio.client import Client

from activities.providers.feedback import FeedbackParsers
from activities.providers.sendgrid import SendGridFeedback
from activities.store.tables import Customer, Event, InboxMessage, Subscription, Suppression
from starter.api.routes.unsubscribe import REFUSED
from tests.helpers.api_stack import ApiStack
from tests.helpers.fakes.sendgrid import EventSigner, sendgrid_event
from tests.helpers.support import eventually

JSON = {"content-type": "application/json"}


async def rows(stack: ApiStack, table: type[Any]) -> list[Any]:
    async with stack.services.stores.database.session() as session:
        return list((await session.exec(select(table))).all())


async def customer_row(stack: ApiStack, customer_id: str) -> Customer | None:
    async with stack.services.stores.database.session() as session:
        return await session.get(Customer, customer_id)


def errors_at(response: Any) -> dict[str, str]:
    """The 422's messages by the last element of their `loc`."""
    assert response.status_code == 422, response.text
    return {str(error["loc"][-1]): error["msg"] for error in response.json()["detail"]}


async def test_null_clears_every_optional_profile_field_and_a_failed_put_writes_nothing(stack: ApiStack) -> None:
    full = {
        "email": "ada@example.com",
        "phone": "+4915123456789",
        "timezone": "Europe/Berlin",
        "locale": "de-AT",
        "push_tokens": ["device-1"],
        "attributes": {"plan": "pro", "first_name": "Ada"},
    }
    assert (await stack.http.put("/v1/customers/nulls", json=full)).status_code == 201
    only_tokens = await stack.http.put("/v1/customers/fresh", json={"push_tokens": None})
    one_key = await stack.http.put("/v1/customers/nulls", json={"attributes": {"plan": None}})
    cleared = await stack.http.put("/v1/customers/nulls", json=dict.fromkeys(full))
    half_bad = await stack.http.put("/v1/customers/fresh", json={"push_tokens": None, "email": "not-an-email"})
    too_many = await stack.http.put("/v1/customers/fresh", json={"push_tokens": [f"t{n}" for n in range(101)]})

    assert only_tokens.status_code == 201 and only_tokens.json()["push_tokens"] == []
    assert one_key.status_code == 200 and one_key.json()["attributes"] == {"first_name": "Ada"}
    assert cleared.status_code == 200
    assert {name: cleared.json()[name] for name in full} == {
        "email": None,
        "phone": None,
        "timezone": None,
        "locale": None,
        "push_tokens": [],
        "attributes": {},
    }
    assert list(errors_at(half_bad)) == ["email"]
    assert list(errors_at(too_many)) == ["push_tokens"]
    for customer_id in ("nulls", "fresh"):
        shown = await stack.http.get(f"/v1/customers/{customer_id}")
        assert shown.status_code == 200 and shown.json()["push_tokens"] == []
        again = await stack.http.put(f"/v1/customers/{customer_id}", json={"locale": "en"})
        assert again.status_code == 200 and again.json()["locale"] == "en"
    stored = await customer_row(stack, "nulls")
    assert stored is not None and (stored.email, stored.push_tokens, stored.attributes) == (None, [], {})

    # A row an older version stored with a JSON null reads again, and the next write repairs it.
    async with stack.services.stores.database.session() as session:
        session.add(Customer(id="stuck", push_tokens=None))  # type: ignore[arg-type]
        await session.commit()
    stuck = await stack.http.get("/v1/customers/stuck")
    repaired = await stack.http.put("/v1/customers/stuck", json={"locale": "fr"})
    assert stuck.status_code == 200 and stuck.json()["push_tokens"] == []
    assert repaired.status_code == 200 and repaired.json()["push_tokens"] == []
    repaired_row = await customer_row(stack, "stuck")
    assert repaired_row is not None and repaired_row.push_tokens == []

    # The store itself refuses a change that could not be read back, before writing it.
    with pytest.raises(ValueError, match="push_tokens"):
        await stack.services.stores.customers.upsert("broken", {"push_tokens": "not a list"})
    assert await customer_row(stack, "broken") is None
    assert sorted(row.id for row in await rows(stack, Customer)) == ["fresh", "nulls", "stuck"]


async def test_integer_parameters_are_bounded_and_minus_one_means_no_limit(stack: ApiStack) -> None:
    assert (await stack.http.put("/v1/customers/reader", json={})).status_code == 201
    async with stack.services.stores.database.session() as session:
        for number in range(3):
            session.add(InboxMessage(delivery_key=f"k{number}", customer_id="reader", topic="news", body="hi"))
        await session.commit()
    huge = "-3615402250000745273229312"

    answers = {
        path: await stack.http.request(method, path)
        for method, path in [
            ("GET", f"/v1/customers/reader/messages?limit={huge}"),
            ("GET", f"/v1/customers/reader/inbox?limit={huge}"),
            ("GET", "/v1/customers/reader/messages?limit=1001"),
            ("GET", "/v1/customers/reader/inbox?limit=501"),
            ("GET", "/v1/customers/reader/inbox?limit=-2"),
            ("POST", f"/v1/customers/reader/inbox/{10**30}/read"),
            ("POST", "/v1/customers/reader/inbox/0/read"),
        ]
    }
    everything = await stack.http.get("/v1/customers/reader/inbox?limit=-1")
    one = await stack.http.get("/v1/customers/reader/inbox?limit=1")
    largest = await stack.http.post(f"/v1/customers/reader/inbox/{2**63 - 1}/read")

    for path, response in answers.items():
        [(field, message)] = errors_at(response).items()
        assert field in ("limit", "message_id"), path
        assert "greater than or equal" in message or "less than or equal" in message, (path, message)
    assert everything.status_code == 200 and len(everything.json()) == 3
    assert one.status_code == 200 and len(one.json()) == 1
    assert largest.status_code == 404 and largest.json() == {"detail": f"customer 'reader' has no message {2**63 - 1}"}
    assert all(message.read_at is None for message in await rows(stack, InboxMessage))
    assert (await stack.http.get("/v1/customers/reader/messages?limit=-1")).json() == []


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1969-12-31T23:59:59Z"])
async def test_an_occurred_at_out_of_range_is_refused_with_the_range(stack: ApiStack, moment: str) -> None:
    body = {"customer_id": "timely", "name": "signed_up", "occurred_at": moment}

    response = await stack.http.post("/v1/events", json=body)

    message = errors_at(response)["occurred_at"]
    assert "from 1970-01-01T00:00:00+00:00 to before 2200-01-01T00:00:00+00:00" in message
    assert await rows(stack, Event) == [] and await customer_row(stack, "timely") is None


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PUT", "/v1/customers/lone", {"attributes": {"name": "s\ud800x"}}, "body"),
        ("PUT", "/v1/customers/lone", {"email": "s\ud800x@example.com"}, "body"),
        ("PUT", "/v1/customers/lone", {"attributes": {"s\ud800x": 1}}, "body"),
        ("POST", "/v1/events", {"customer_id": "s\ud800x", "name": "signed_up"}, "body"),
        ("POST", "/v1/events", {"customer_id": "lone", "name": "x", "properties": {"p": ["s\ud800x"]}}, "body"),
        ("PUT", "/v1/customers/lone/subscriptions/news", {"status": "subscribed", "channel": "s\ud800x"}, "body"),
        ("POST", "/v1/journeys/welcome/entries", {"customer_id": "lone", "data": {"v": "s\ud800x"}}, "body"),
    ],
)
async def test_a_lone_surrogate_gets_a_422_that_encodes(
    stack: ApiStack, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    response = await stack.http.request(method, path, content=json.dumps(body), headers=JSON)

    message = errors_at(response)[field]
    assert "not valid Unicode text ('\\ud800' is a lone surrogate); send UTF-8 text" in message
    assert "s\\ud800x" in response.text.replace("\\\\", "\\")  # the input is echoed, escaped
    assert await rows(stack, Customer) == [] and await rows(stack, Event) == []
    assert await rows(stack, Subscription) == []


async def test_deeply_nested_json_bodies_are_refused_before_anything_is_stored(stack: ApiStack) -> None:
    nested = '{"p": ' * 40 + "1" + "}" * 40
    deeper = "[" * 10_000 + "]" * 10_000
    event = '{"customer_id": "deep", "name": "x", "properties": '

    too_deep = await stack.http.post("/v1/events", content=event + nested + "}", headers=JSON)
    unparsable = await stack.http.post("/v1/events", content=event + deeper + "}", headers=JSON)
    profile = await stack.http.put("/v1/customers/deep", content='{"attributes": ' + nested + "}", headers=JSON)

    assert "nested more than 32 levels deep" in errors_at(too_deep)["body"]
    assert "nested more than 32 levels deep" in errors_at(profile)["body"]
    assert unparsable.status_code == 400 and unparsable.json() == {"detail": "There was an error parsing the body"}
    assert await rows(stack, Event) == [] and await rows(stack, Customer) == []


BAD_IDS = {
    "nul": "a\x00b",
    "control": "a\x1bb",
    "zero-width": "a\u200bb",
    "space": "a b",
    "slash": "a/b",
    "too long": "x" * 201,
    "empty": "",
}


@pytest.mark.parametrize("bad", list(BAD_IDS.values()), ids=list(BAD_IDS))
async def test_bad_ids_keys_and_names_are_refused_on_every_route(stack: ApiStack, bad: str) -> None:
    event = {"customer_id": "good", "name": "signed_up"}
    sub = {"status": "subscribed"}
    bodies = [
        ("POST", "/v1/events", {**event, "customer_id": bad}, "customer_id"),
        ("POST", "/v1/journeys/welcome/entries", {"customer_id": bad}, "customer_id"),
        ("POST", "/v1/journeys/welcome/entries", {"customer_id": "good", "key": bad}, "key"),
        ("POST", "/v1/events", {**event, "name": bad}, "name"),
    ]
    answers = [(await stack.http.request(m, p, json=b), field) for m, p, b, field in bodies]
    if bad not in ("a b", "a/b"):  # idempotency keys may hold spaces and '/'
        answers.append((await stack.http.post("/v1/events", json={**event, "idempotency_key": bad}), "idempotency_key"))
    if bad and "/" not in bad:  # a path parameter cannot be empty or hold a '/'
        quoted = bad.replace("\x00", "%00").replace("\x1b", "%1B").replace(" ", "%20")
        paths = [
            ("PUT", f"/v1/customers/{quoted}", {}, "customer_id"),
            ("GET", f"/v1/customers/{quoted}", None, "customer_id"),
            ("GET", f"/v1/customers/{quoted}/messages", None, "customer_id"),
            ("GET", f"/v1/customers/{quoted}/inbox", None, "customer_id"),
            ("POST", f"/v1/customers/{quoted}/inbox/1/read", None, "customer_id"),
            ("GET", f"/v1/customers/{quoted}/subscriptions", None, "customer_id"),
            ("PUT", f"/v1/customers/{quoted}/subscriptions/news", sub, "customer_id"),
            ("PUT", f"/v1/customers/good/subscriptions/{quoted}", sub, "topic"),
        ]
        answers += [(await stack.http.request(m, p, json=b), field) for m, p, b, field in paths]

    for response, field in answers:
        assert field in errors_at(response), (response.request.url, response.text)
    assert await rows(stack, Customer) == [] and await rows(stack, Event) == []
    assert await rows(stack, Subscription) == []


@pytest.mark.parametrize("bad", ["back\\slash", 'dou"ble'])
async def test_customer_ids_temporal_cannot_query_are_refused_with_the_reason(stack: ApiStack, bad: str) -> None:
    quoted = bad.replace("\\", "%5C").replace('"', "%22")

    answers = [
        await stack.http.put(f"/v1/customers/{quoted}", json={}),
        await stack.http.get(f"/v1/customers/{quoted}"),
        await stack.http.post("/v1/events", json={"customer_id": bad, "name": "signed_up"}),
        await stack.http.post("/v1/journeys/welcome/entries", json={"customer_id": bad}),
    ]

    for response in answers:
        assert "Temporal's visibility queries cannot match it" in errors_at(response)["customer_id"]
    assert await rows(stack, Customer) == [] and await rows(stack, Event) == []


@pytest.mark.parametrize("customer_id", ["o'brien", "ada@example.com", "+4915123456789", "x" * 200])
async def test_ids_with_quotes_and_symbols_show_their_active_journeys(
    stack: ApiStack, dev_client: Client, customer_id: str
) -> None:
    quoted = customer_id.replace("+", "%2B")
    put = await stack.http.put(f"/v1/customers/{quoted}", json={"attributes": {"first_name": "Ada"}})
    accepted = await stack.http.post("/v1/events", json={"customer_id": customer_id, "name": "signed_up"})
    workflow_id = f"journey/welcome/{customer_id}"

    async def active() -> list[str]:
        shown = await stack.http.get(f"/v1/customers/{quoted}")
        assert shown.status_code == 200, shown.text
        return list(shown.json()["active_journeys"])

    try:
        assert put.status_code == 201 and put.json()["id"] == customer_id
        assert accepted.status_code == 202 and accepted.json()["started"] == [workflow_id]
        assert await eventually(active) == [workflow_id]
    finally:
        await dev_client.get_workflow_handle(workflow_id).terminate("no worker in this test")
    stored = await customer_row(stack, customer_id)
    assert stored is not None and stored.attributes == {"first_name": "Ada"}


@pytest.mark.parametrize("token", ["é", "ünïcode.sïgnature", "abc.\u00ff"])
async def test_a_non_ascii_unsubscribe_token_is_refused_cleanly(stack: ApiStack, token: str) -> None:
    page = await stack.http.get("/v1/unsubscribe", params={"token": token})
    done = await stack.http.post("/v1/unsubscribe", params={"token": token})

    assert page.status_code == 400 and REFUSED in page.text
    assert done.status_code == 400 and done.json() == {"detail": REFUSED}
    assert await rows(stack, Subscription) == [] and await rows(stack, Customer) == []


async def test_a_signed_sendgrid_webhook_nested_too_deeply_is_refused_cleanly(stack: ApiStack) -> None:
    signer = EventSigner()
    stack.services.feedback_parsers = FeedbackParsers(
        stack.services.settings.providers, {"sendgrid": SendGridFeedback(signer.public_key)}
    )
    deep = b"[" * 10_000 + b"]" * 10_000
    surrogate = json.dumps([sendgrid_event("bounce", "m1", email="s\ud800x@example.com", type="bounce")]).encode()

    nested = await stack.http.post("/v1/webhooks/sendgrid", content=deep, headers=signer.headers(deep))
    unencodable = await stack.http.post("/v1/webhooks/sendgrid", content=surrogate, headers=signer.headers(surrogate))

    assert nested.status_code == 400
    assert nested.json()["detail"].startswith("not a sendgrid callback: the JSON is nested too deeply")
    assert unencodable.status_code == 400
    assert unencodable.json() == {"detail": "not a sendgrid callback: the event's 'email' is not valid Unicode text"}
    assert await rows(stack, Suppression) == []
