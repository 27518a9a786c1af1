"""The property-based API suite: schemathesis drives every operation of `/openapi.json` on the live
app (uvicorn, a real worker on the session's Temporal dev server, real SQLite) with an admin key,
valid and invalid inputs alike, and every answer must be no server error and exactly what the
schema documents: status code, content type and body. Fixed seed, bounded examples per operation."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import select
from temporalio.client import Client

from activities.store.tables import Customer
from starter.api.schemas import CustomerDetail
from starter.routing.registry import JourneyRegistry
from tests.helpers.api_stack import running_stack
from tests.helpers.support import free_port, make_settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_MODE = 40
"""Examples per operation and generation mode (positive, negative): the whole run stays well
inside the suite's time budget on a 2-core machine."""


def fuzz(base_url: str, key: str) -> tuple[dict[str, set[int]], int, list[str]]:
    """Run every operation; (the statuses each answered, examples, failures). Blocking: run it off the loop."""
    headers = {"Authorization": f"Bearer {key}"}
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", headers=headers)
    session = requests.Session()
    failures: list[str] = []
    examples = 0
    answers: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"the schema is not valid: {result.err()}")
            continue
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy: SearchStrategy[Any] = operation.as_strategy(generation_mode=mode)

            @hypothesis_settings(
                max_examples=EXAMPLES_PER_MODE,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case: Any) -> None:
                nonlocal examples
                examples += 1
                response = case.call_and_validate(base_url=base_url, session=session, headers=headers, checks=CHECKS)
                answers.setdefault(case.operation.label, set()).add(response.status_code)

            try:
                run()
            except Unsatisfiable:
                continue  # no invalid input exists for this operation (e.g. no parameters, no body)
            except (Exception, FailureGroup) as error:  # every operation's failures, not just the first
                failures.append(f"{operation.label} ({mode.value}): {error}")
    return answers, examples, failures


async def test_every_operation_conforms_to_its_schema(
    dev_client: Client, tmp_path: Path, registry: JourneyRegistry
) -> None:
    key = secrets.token_urlsafe(24)
    settings = make_settings(tmp_path, api_port=free_port(), api_key=key)
    async with running_stack(dev_client, settings, registry, open_on_loopback=False) as stack:
        answers, examples, failures = await asyncio.to_thread(fuzz, stack.base_url, key)
        operations = len(answers)

        print(f"schemathesis: {operations} operations, {examples} examples")
        assert failures == [], "\n\n".join(failures)
        documented = (await stack.http.get("/openapi.json")).json()["paths"]
        assert operations == sum(len(methods) for methods in documented.values())
        assert examples >= operations * EXAMPLES_PER_MODE
        # the admin key takes every operation past the key check into the route's own code
        assert {label for label, codes in answers.items() if codes - {401, 403, 422}} == set(answers), answers
        async with stack.services.stores.database.session() as session:
            stored = list((await session.exec(select(Customer.id))).all())
        assert stored, "the fuzzed PUTs stored profiles"
        for customer_id in stored[:20]:
            profile = await stack.http.get(
                f"/v1/customers/{quote(customer_id, safe='')}", headers={"Authorization": f"Bearer {key}"}
            )
            assert profile.status_code == 200, profile.text
            assert CustomerDetail.model_validate(profile.json()).id == customer_id
