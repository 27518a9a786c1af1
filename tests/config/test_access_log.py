"""The access log of a real API names each request's path and status, never a query's secrets
(the unsubscribe token, which would let a log reader unsubscribe the customer)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.client import Client

from activities.store.tables import Subscription
from starter.config.access_log import redact_query
from starter.routing.registry import JourneyRegistry
from tests.helpers.api_stack import running_stack
from tests.helpers.support import free_port, make_settings


def test_query_values_are_redacted_and_names_kept() -> None:
    assert redact_query("/v1/unsubscribe?token=abc.def&x=1") == "/v1/unsubscribe?token=…&x=…"
    assert redact_query("/v1/customers/ada/inbox") == "/v1/customers/ada/inbox"
    assert redact_query("/healthz?") == "/healthz"


async def test_the_access_log_never_holds_an_unsubscribe_token(
    dev_client: Client, tmp_path: Path, registry: JourneyRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, api_port=free_port())
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        async with running_stack(dev_client, settings, registry, with_worker=False) as stack:
            token = stack.services.tokens.sign("ada", "marketing", None)
            page = await stack.http.get("/v1/unsubscribe", params={"token": token})
            done = await stack.http.post("/v1/unsubscribe", params={"token": token})
            async with stack.services.stores.database.session() as session:
                choices = (await session.exec(select(Subscription).where(Subscription.customer_id == "ada"))).all()

    lines = [record.getMessage() for record in caplog.records if record.name == "uvicorn.access"]
    assert (page.status_code, done.status_code) == (200, 200)
    assert [(row.topic, row.status, row.source) for row in choices] == [
        ("marketing", "unsubscribed", "unsubscribe_link")
    ]
    assert any('"GET /v1/unsubscribe?token=… HTTP/1.1" 200' in line for line in lines), lines
    assert any('"POST /v1/unsubscribe?token=… HTTP/1.1" 200' in line for line in lines), lines
    assert token not in caplog.text and token.split(".")[1] not in caplog.text
