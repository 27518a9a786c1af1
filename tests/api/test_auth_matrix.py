"""Who may call what: every route of the app x (no key, wrong key, key of another scope, right
key), on a closed API (production: it listens beyond loopback) and an open one (`overture dev`
on loopback with no OVERTURE_API_KEY). The routes come from the app itself, so a new route fails
here until it is given a place in PROBES."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlmodel import SQLModel
from temporalio.client import Client

from activities.store.tables import InboxMessage
from starter.api.app import create_app
from starter.api.scopes import ADMIN, EVENTS_WRITE, inbox_scope
from starter.config.settings import Settings
from starter.routing.registry import JourneyRegistry
from tests.helpers.api_stack import ApiStack, running_stack
from tests.helpers.support import free_port, make_settings

Policy = Literal["public", "admin", "events", "inbox"]
Case = Literal["no key", "wrong key", "other scope", "right key"]
CASES: tuple[Case, ...] = ("no key", "wrong key", "other scope", "right key")
SCOPES = (ADMIN, EVENTS_WRITE, inbox_scope("ada"), inbox_scope("bob"))
RIGHT: dict[Policy, str] = {"public": ADMIN, "admin": ADMIN, "events": EVENTS_WRITE, "inbox": inbox_scope("ada")}
OTHER: dict[Policy, str] = {
    "public": inbox_scope("bob"),
    "admin": EVENTS_WRITE,
    "events": inbox_scope("ada"),
    "inbox": inbox_scope("bob"),
}
Snapshot = dict[str, list[tuple[Any, ...]]]


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves (HEAD aside), however FastAPI nests them."""
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any]) -> None:
        for route in routes:
            included = getattr(route, "original_router", None)
            if included is not None:
                walk(included.routes)
                continue
            for method in getattr(route, "methods", None) or ():
                if method != "HEAD":
                    found.add((method, route.path))

    walk(list(app.routes))
    return sorted(found)


ROUTES = app_routes(create_app(Settings.isolated()))


@dataclass
class World:
    """A running API with two customers, a message in ada's inbox and one key per scope."""

    stack: ApiStack
    keys: dict[str, str]
    token: str
    message_id: int

    async def snapshot(self) -> Snapshot:
        """Every row of every table."""
        rows: Snapshot = {}
        async with self.stack.services.stores.database.engine.connect() as connection:
            for table in SQLModel.metadata.sorted_tables:
                result = await connection.execute(text(f"SELECT * FROM {table.name}"))
                rows[table.name] = sorted((tuple(row) for row in result.all()), key=repr)
        return rows

    async def row(self, sql: str, **params: Any) -> tuple[Any, ...] | None:
        """The first row of a query."""
        async with self.stack.services.stores.database.engine.connect() as connection:
            found = (await connection.execute(text(sql), params)).first()
        return None if found is None else tuple(found)


@dataclass(frozen=True)
class Call:
    """One request: path, query and JSON body."""

    path: str
    params: dict[str, str] | None = None
    body: Any = None


Check = Callable[[World, httpx.Response, Snapshot, Snapshot, int], Any]


def unchanged(_world: World, _response: httpx.Response, before: Snapshot, after: Snapshot, _n: int) -> None:
    assert after == before


@dataclass(frozen=True)
class Probe:
    """How to call a route, who may, what it answers when allowed, and what it leaves behind."""

    policy: Policy
    call: Callable[[World, int], Call]
    status: int
    check: Check


async def _customer_written(world: World, response: httpx.Response, _b: Snapshot, _a: Snapshot, n: int) -> None:
    assert response.json()["attributes"]["probe"] == n
    assert await world.row("SELECT json_extract(attributes, '$.probe') FROM customers WHERE id='ada'") == (n,)


async def _subscription_written(world: World, response: httpx.Response, _b: Snapshot, _a: Snapshot, n: int) -> None:
    status = "unsubscribed" if n % 2 else "subscribed"
    assert response.json()["status"] == status
    found = await world.row("SELECT status FROM subscriptions WHERE customer_id='ada' AND topic='product'")
    assert found == (status,)


async def _event_stored(world: World, response: httpx.Response, _b: Snapshot, _a: Snapshot, n: int) -> None:
    body = response.json()
    assert (body["started"], body["signalled"], body["routing"]) == ([], [], "routed")
    stored = await world.row(
        "SELECT customer_id, name FROM events WHERE id=:id AND json_extract(properties, '$.probe')=:n",
        id=body["event_id"],
        n=n,
    )
    assert stored == ("ada", "matrix_probe")


async def _marked_read(world: World, response: httpx.Response, _b: Snapshot, _a: Snapshot, _n: int) -> None:
    assert response.json()["read_at"] is not None
    found = await world.row("SELECT read_at IS NOT NULL FROM inbox_messages WHERE id=:id", id=world.message_id)
    assert found == (1,)


async def _unsubscribed(world: World, response: httpx.Response, _b: Snapshot, _a: Snapshot, _n: int) -> None:
    assert "no longer receive" in response.text
    found = await world.row("SELECT status FROM subscriptions WHERE customer_id='bob' AND topic='marketing'")
    assert found == ("unsubscribed",)


def _reads(expect: Callable[[httpx.Response], bool]) -> Check:
    def check(world: World, response: httpx.Response, before: Snapshot, after: Snapshot, n: int) -> None:
        assert expect(response), response.text
        unchanged(world, response, before, after, n)

    return check


def _html(response: httpx.Response) -> bool:
    return response.headers["content-type"].startswith("text/html") and "<" in response.text


PROBES: dict[tuple[str, str], Probe] = {
    ("GET", "/openapi.json"): Probe(
        "public", lambda w, n: Call("/openapi.json"), 200, _reads(lambda r: r.json()["openapi"].startswith("3."))
    ),
    ("GET", "/docs"): Probe("public", lambda w, n: Call("/docs"), 200, _reads(_html)),
    ("GET", "/docs/oauth2-redirect"): Probe("public", lambda w, n: Call("/docs/oauth2-redirect"), 200, _reads(_html)),
    ("GET", "/redoc"): Probe("public", lambda w, n: Call("/redoc"), 200, _reads(_html)),
    ("GET", "/healthz"): Probe(
        "public", lambda w, n: Call("/healthz"), 200, _reads(lambda r: r.json()["status"] == "ok")
    ),
    ("PUT", "/v1/customers/{customer_id}"): Probe(
        "admin", lambda w, n: Call("/v1/customers/ada", body={"attributes": {"probe": n}}), 200, _customer_written
    ),
    ("GET", "/v1/customers/{customer_id}"): Probe(
        "admin", lambda w, n: Call("/v1/customers/ada"), 200, _reads(lambda r: r.json()["id"] == "ada")
    ),
    ("GET", "/v1/customers/{customer_id}/messages"): Probe(
        "admin", lambda w, n: Call("/v1/customers/ada/messages"), 200, _reads(lambda r: r.json() == [])
    ),
    ("PUT", "/v1/customers/{customer_id}/subscriptions/{topic}"): Probe(
        "admin",
        lambda w, n: Call(
            "/v1/customers/ada/subscriptions/product", body={"status": "unsubscribed" if n % 2 else "subscribed"}
        ),
        200,
        _subscription_written,
    ),
    ("GET", "/v1/customers/{customer_id}/subscriptions"): Probe(
        "admin", lambda w, n: Call("/v1/customers/ada/subscriptions"), 200, _reads(lambda r: isinstance(r.json(), list))
    ),
    ("GET", "/v1/customers/{customer_id}/inbox"): Probe(
        "inbox",
        lambda w, n: Call("/v1/customers/ada/inbox"),
        200,
        _reads(lambda r: [m["title"] for m in r.json()] == ["Hello Ada"]),
    ),
    ("POST", "/v1/customers/{customer_id}/inbox/{message_id}/read"): Probe(
        "inbox", lambda w, n: Call(f"/v1/customers/ada/inbox/{w.message_id}/read"), 200, _marked_read
    ),
    ("POST", "/v1/events"): Probe(
        "events",
        lambda w, n: Call(
            "/v1/events", body={"customer_id": "ada", "name": "matrix_probe", "properties": {"probe": n}}
        ),
        202,
        _event_stored,
    ),
    ("GET", "/v1/journeys"): Probe(
        "admin", lambda w, n: Call("/v1/journeys"), 200, _reads(lambda r: "welcome" in [j["name"] for j in r.json()])
    ),
    ("POST", "/v1/journeys/{journey}/entries"): Probe(
        "admin",
        lambda w, n: Call("/v1/journeys/no-such-journey/entries", body={"customer_id": "ada"}),
        404,
        _reads(lambda r: r.json()["detail"].startswith("unknown journey 'no-such-journey'")),
    ),
    ("GET", "/v1/unsubscribe"): Probe(
        "public", lambda w, n: Call("/v1/unsubscribe", params={"token": w.token}), 200, _reads(_html)
    ),
    ("POST", "/v1/unsubscribe"): Probe(
        "public", lambda w, n: Call("/v1/unsubscribe", params={"token": w.token}), 200, _unsubscribed
    ),
    ("POST", "/v1/webhooks/{provider}"): Probe(
        "public",
        lambda w, n: Call("/v1/webhooks/nope", body={}),
        404,
        _reads(lambda r: "nope" in r.json()["detail"]),
    ),
}


async def _world(client: Client, registry: JourneyRegistry, state_dir: Path, **settings: Any) -> AsyncIterator[World]:
    values = make_settings(state_dir, api_port=free_port(), **settings)
    async with running_stack(client, values, registry, with_worker=False) as stack:
        stores = stack.services.stores
        await stores.customers.ensure("ada")
        await stores.customers.ensure("bob")
        message = InboxMessage(
            delivery_key="matrix-1", customer_id="ada", topic="product", title="Hello Ada", body="Hi"
        )
        async with stores.database.write() as session:
            session.add(message)
        assert message.id is not None
        keys = {scope: (await stores.api_keys.create(scope, name=f"matrix {scope}"))[1] for scope in SCOPES}
        token = stack.services.tokens.sign("bob", "marketing", None)
        yield World(stack=stack, keys=keys, token=token, message_id=message.id)


@pytest.fixture(scope="module")
async def closed(
    dev_client: Client, registry: JourneyRegistry, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    """Production: the API listens beyond loopback, so every key is checked."""
    async for world in _world(
        dev_client,
        registry,
        tmp_path_factory.mktemp("closed"),
        api_host="0.0.0.0",
        api_key=secrets.token_urlsafe(32),
        secret_key=secrets.token_urlsafe(32),
    ):
        yield world


@pytest.fixture(scope="module")
async def open_(
    dev_client: Client, registry: JourneyRegistry, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    """`overture dev`: loopback and no OVERTURE_API_KEY, so nothing is checked."""
    async for world in _world(dev_client, registry, tmp_path_factory.mktemp("open")):
        yield world


def test_every_route_of_the_app_is_in_the_matrix() -> None:
    documented = set(create_app(Settings.isolated()).openapi()["paths"])

    assert documented <= {path for _method, path in ROUTES}
    assert sorted(PROBES) == ROUTES, "give each new route a Probe: who may call it, and what it answers"


def test_the_openapi_document_says_which_routes_want_a_key() -> None:
    operations = create_app(Settings.isolated()).openapi()["paths"]

    for (method, path), probe in PROBES.items():
        if path not in operations:
            continue
        operation = operations[path][method.lower()]
        keyed = probe.policy != "public"
        assert ("security" in operation) is keyed, (method, path)
        if keyed:
            assert {"401", "403"} <= set(operation["responses"]), (method, path)


def _headers(world: World, policy: Policy, case: Case) -> dict[str, str]:
    if case == "no key":
        return {}
    if case == "wrong key":
        return {"Authorization": f"Bearer ovk_{secrets.token_urlsafe(32)}"}
    scope = OTHER[policy] if case == "other scope" else RIGHT[policy]
    return {"Authorization": f"Bearer {world.keys[scope]}"}


async def _request(world: World, route: tuple[str, str], case: Case) -> tuple[httpx.Response, Snapshot, Snapshot, int]:
    probe = PROBES[route]
    n = CASES.index(case) + 1
    call = probe.call(world, n)
    before = await world.snapshot()
    response = await world.stack.http.request(
        route[0], call.path, params=call.params, json=call.body, headers=_headers(world, probe.policy, case)
    )
    return response, before, await world.snapshot(), n


async def _allowed(world: World, route: tuple[str, str], case: Case) -> None:
    probe = PROBES[route]
    response, before, after, n = await _request(world, route, case)
    assert response.status_code == probe.status, (case, response.text)
    result = probe.check(world, response, before, after, n)
    if result is not None:
        await result


@pytest.mark.parametrize("route", ROUTES, ids=[f"{method} {path}" for method, path in ROUTES])
async def test_closed_api(closed: World, route: tuple[str, str]) -> None:
    assert route in PROBES, f"{route} is not in PROBES"
    policy = PROBES[route].policy
    for case in CASES:
        if policy == "public" or case == "right key":
            await _allowed(closed, route, case)
            continue
        response, before, after, _n = await _request(closed, route, case)
        assert after == before, f"{case}: a refused request wrote to the database"
        if case == "other scope":
            assert response.status_code == 403, response.text
            assert response.json() == {"detail": f"this API key's scope ({OTHER[policy]}) does not allow this route"}
        else:
            assert response.status_code == 401, response.text
            assert response.headers["www-authenticate"] == "Bearer"
            expected = "missing API key" if case == "no key" else "wrong or revoked API key"
            assert response.json()["detail"].startswith(expected)


@pytest.mark.parametrize("route", ROUTES, ids=[f"{method} {path}" for method, path in ROUTES])
async def test_open_dev_api(open_: World, route: tuple[str, str]) -> None:
    assert route in PROBES, f"{route} is not in PROBES"
    for case in CASES:
        await _allowed(open_, route, case)


async def test_the_master_key_is_admin_and_the_scheme_is_case_insensitive(closed: World) -> None:
    master = closed.stack.services.settings.api_key
    assert master is not None
    answers = [
        (
            await closed.stack.http.get(
                "/v1/journeys", headers={"Authorization": f"{scheme} {master.get_secret_value()}"}
            )
        )
        for scheme in ("Bearer", "bearer", "BEARER")
    ]
    basic = await closed.stack.http.get("/v1/journeys", headers={"Authorization": f"Basic {master.get_secret_value()}"})

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert all(answer.json() == answers[0].json() for answer in answers)
    assert basic.status_code == 401 and basic.json()["detail"].startswith("missing API key")


async def test_an_inbox_key_reads_its_customer_only(closed: World) -> None:
    headers = {"Authorization": f"Bearer {closed.keys[inbox_scope('bob')]}"}

    own = await closed.stack.http.get("/v1/customers/bob/inbox", headers=headers)
    other = await closed.stack.http.get("/v1/customers/ada/inbox", headers=headers)
    profile = await closed.stack.http.get("/v1/customers/bob", headers=headers)

    assert (own.status_code, own.json()) == (200, [])
    assert other.status_code == 403 and "inbox:bob" in other.json()["detail"]
    assert profile.status_code == 403


async def test_a_revoked_key_gets_401(closed: World) -> None:
    stores = closed.stack.services.stores
    row, key = await stores.api_keys.create(ADMIN, name="soon revoked")
    headers = {"Authorization": f"Bearer {key}"}
    before = await closed.stack.http.get("/v1/journeys", headers=headers)

    await stores.api_keys.revoke(row.id)
    after = await closed.stack.http.get("/v1/journeys", headers=headers)

    assert (before.status_code, after.status_code) == (200, 401)
    assert after.json() == {"detail": "wrong or revoked API key"}
    revoked = await closed.row(
        "SELECT revoked_at IS NOT NULL, key_hash != :key FROM api_keys WHERE id=:id", id=row.id, key=key
    )
    assert revoked == (1, 1)


async def test_overture_api_is_closed_even_on_loopback(
    dev_client: Client, registry: JourneyRegistry, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, api_port=free_port())
    async with running_stack(dev_client, settings, registry, with_worker=False, open_on_loopback=False) as stack:
        _row, key = await stack.services.stores.api_keys.create(ADMIN)
        anonymous = await stack.http.get("/v1/journeys")
        keyed = await stack.http.get("/v1/journeys", headers={"Authorization": f"Bearer {key}"})
        health = await stack.http.get("/healthz")

    assert anonymous.status_code == 401 and anonymous.json()["detail"].startswith("missing API key")
    assert keyed.status_code == 200 and "welcome" in [journey["name"] for journey in keyed.json()]
    assert health.status_code == 200
