"""What schemathesis found (tests/api/test_schemathesis.py), one test each: the answers routes
give but did not document are now in `/openapi.json`, and giving them stores nothing wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from temporalio.client import Client

from activities.store.tables import Customer, Event, Subscription
from starter.routing.registry import JourneyRegistry
from tests.helpers.api_stack import ApiStack, running_stack
from tests.helpers.support import free_port, make_settings

NOT_UTF8 = b"\x80{}"
ERROR_OUT = "#/components/schemas/ErrorOut"
PARSE_ERROR = {"detail": "There was an error parsing the body"}


async def documented(stack: ApiStack, path: str, method: str) -> dict[str, Any]:
    """The operation's documented responses."""
    answers: dict[str, Any] = (await stack.http.get("/openapi.json")).json()["paths"][path][method]["responses"]
    return answers


async def rows(stack: ApiStack, table: Any) -> list[Any]:
    """Every row of a table."""
    async with stack.services.stores.database.session() as session:
        return list((await session.exec(select(table))).all())


def model(answer: dict[str, Any]) -> str:
    return str(answer["content"]["application/json"]["schema"]["$ref"])


async def test_a_new_profile_is_a_documented_201(stack: ApiStack) -> None:
    created = await stack.http.put("/v1/customers/ada", json={"attributes": {"plan": "pro"}})
    again = await stack.http.put("/v1/customers/ada", json={})

    assert (created.status_code, again.status_code) == (201, 200)
    assert created.json()["attributes"] == again.json()["attributes"] == {"plan": "pro"}
    answers = await documented(stack, "/v1/customers/{customer_id}", "put")
    assert model(answers["201"]) == model(answers["200"]) == "#/components/schemas/CustomerOut"
    assert [(row.id, row.attributes) for row in await rows(stack, Customer)] == [("ada", {"plan": "pro"})]


@pytest.mark.parametrize(
    ("path", "method", "table"),
    [
        ("/v1/customers/ada", "put", Customer),
        ("/v1/customers/ada/subscriptions/news", "put", Subscription),
        ("/v1/events", "post", Event),
        ("/v1/journeys/welcome/entries", "post", Event),
    ],
)
async def test_a_body_that_is_not_utf8_is_a_documented_400(stack: ApiStack, path: str, method: str, table: Any) -> None:
    response = await stack.http.request(
        method.upper(), path, content=NOT_UTF8, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json() == PARSE_ERROR
    template = path.replace("/ada", "/{customer_id}").replace("/news", "/{topic}").replace("/welcome", "/{journey}")
    assert model((await documented(stack, template, method))["400"]) == ERROR_OUT
    assert await rows(stack, table) == []
    assert await rows(stack, Customer) == []


@pytest.mark.parametrize(
    ("call", "template", "detail"),
    [
        (("GET", "/v1/customers/nobody"), ("/v1/customers/{customer_id}", "get"), "no customer 'nobody'"),
        (
            ("POST", "/v1/customers/nobody/inbox/7/read"),
            ("/v1/customers/{customer_id}/inbox/{message_id}/read", "post"),
            "customer 'nobody' has no message 7",
        ),
        (("POST", "/v1/journeys/nojourney/entries"), ("/v1/journeys/{journey}/entries", "post"), "unknown journey"),
        (("POST", "/v1/webhooks/noprovider"), ("/v1/webhooks/{provider}", "post"), "noprovider"),
    ],
)
async def test_what_is_not_there_is_a_documented_404(
    stack: ApiStack, call: tuple[str, str], template: tuple[str, str], detail: str
) -> None:
    body = {"customer_id": "nobody"} if call[1].endswith("/entries") else None
    response = await stack.http.request(*call, json=body)

    assert response.status_code == 404
    assert detail in response.json()["detail"]
    assert model((await documented(stack, *template))["404"]) == ERROR_OUT
    assert await rows(stack, Customer) == []


async def test_an_invalid_unsubscribe_link_is_a_documented_400(stack: ApiStack) -> None:
    page = await stack.http.get("/v1/unsubscribe", params={"token": "forged"})
    posted = await stack.http.post("/v1/unsubscribe", params={"token": "forged"})

    assert (page.status_code, page.headers["content-type"]) == (400, "text/html; charset=utf-8")
    assert "not valid" in page.text
    assert (posted.status_code, posted.json()["detail"][:34]) == (400, "This unsubscribe link is not valid")
    answers = await documented(stack, "/v1/unsubscribe", "get")
    assert list(answers["400"]["content"]) == ["text/html"]
    assert model((await documented(stack, "/v1/unsubscribe", "post"))["400"]) == ERROR_OUT
    assert await rows(stack, Subscription) == []
    assert await rows(stack, Customer) == []


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/v1/customers/ada", "/v1/customers/{customer_id}"),
        ("/v1/customers/ada/subscriptions/news", "/v1/customers/{customer_id}/subscriptions/{topic}"),
    ],
)
async def test_a_body_over_the_limit_is_a_documented_413(
    dev_client: Client, tmp_path: Path, registry: JourneyRegistry, path: str, template: str
) -> None:
    settings = make_settings(tmp_path, api_port=free_port(), max_body_bytes=1024)
    async with running_stack(dev_client, settings, registry, with_worker=False) as small:
        response = await small.http.put(path, json={"status": "subscribed", "attributes": {"x": "y" * 2000}})

        assert response.status_code == 413
        assert "OVERTURE_MAX_BODY_BYTES" in response.json()["detail"]
        assert model((await documented(small, template, "put"))["413"]) == ERROR_OUT
        assert await rows(small, Customer) == []
        assert await rows(small, Subscription) == []
