"""No contact data and no customer id in clear in any log `overture dev` writes (its own, its
worker's, the Temporal server's), even when customers are known by their email address or phone
number, put them in attributes and event properties, and things go wrong on the way: a provider
failing (a traceback in the worker's log), bad requests, unknown customers, a forged token."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from temporalio.api.workflowservice.v1 import ListWorkflowExecutionsRequest
from temporalio.service import RPCError

from starter.runtime.signing import log_masking
from tests.helpers.dev_stack import DevStack
from tests.helpers.fakes.sendgrid import FakeSendGrid
from tests.helpers.fakes.server import serve
from tests.helpers.support import eventually

CUSTOMERS: dict[str, dict[str, Any]] = {
    "pii.ada@example.com": {
        "email": "ada.lovelace@example.com",
        "phone": "+4915123456789",
        "attributes": {"backup_email": "ada.backup@example.org", "mobile": "+447700900123", "plan": "team"},
    },
    "+4930123456789": {
        "email": "grace.hopper@example.net",
        "attributes": {"assistant": "+33612345678"},
    },
    "cust-8841-hidden": {"email": "linus.t@example.io", "attributes": {"fax": "+3226543210"}},
}
UNKNOWN = "nobody.home@example.net"
REFERRER = "ref.friend@example.com"


def secrets_of_the_scenario() -> list[str]:
    """Every customer id, address and number the scenario uses, raw and in the forms an HTTP
    path or a log could spell it (percent-encoded, number without its +)."""
    values = {UNKNOWN, REFERRER}
    for customer_id, profile in CUSTOMERS.items():
        values.add(customer_id)
        values.update(str(value) for key, value in profile.items() if key != "attributes")
        values.update(str(value) for key, value in profile["attributes"].items() if key != "plan")
    forms = set()
    for value in values:
        forms.update({value, quote(value, safe=""), quote(value), value.lstrip("+")})
    return sorted(forms)


def deliveries(database: Path) -> list[tuple[str, str, str | None]]:
    """(customer, status, provider) of every delivery row, as the worker wrote them."""
    with sqlite3.connect(database) as connection:
        query = "SELECT customer_id, status, provider FROM deliveries ORDER BY customer_id"
        return list(connection.execute(query).fetchall())


async def visibility_queries_that_fail(stack: DevStack) -> None:
    """Make the Temporal server log customers: a NUL cuts a visibility query short, and the
    server logs the broken query (`unrecognized token: "'pii.ada@example.com"`) as an error."""
    client = await stack.temporal_client()
    for customer_id in CUSTOMERS:
        query = f"CustomerId = '{customer_id}\x00'"
        request = ListWorkflowExecutionsRequest(namespace=client.namespace, query=query)
        try:
            await client.workflow_service.list_workflow_executions(request, retry=False)
        except RPCError as error:
            assert "unrecognized token" in error.message, error.message
        else:
            raise AssertionError("the server took a query with a NUL in it")


async def test_no_email_phone_or_customer_id_reaches_any_log_of_the_stack(tmp_path: Path) -> None:
    sendgrid = FakeSendGrid()
    sendgrid.misbehave("500")  # the first send fails: the worker logs the activity failure, traceback and all
    async with serve(sendgrid.app) as sendgrid_url:
        stack = DevStack(
            tmp_path,
            extra_env={
                "OVERTURE_EMAIL_PROVIDERS": "sendgrid",
                "OVERTURE_SENDGRID_API_KEY": sendgrid.api_key,
                "OVERTURE_SENDGRID_FROM_ADDRESS": "Acme <hello@acme.test>",
                "OVERTURE_SENDGRID_BASE_URL": sendgrid_url,
            },
        )
        dev = await stack.start()
        try:
            await stack.running()
            async with stack.http() as http:
                for customer_id, profile in CUSTOMERS.items():
                    created = await http.put(f"/v1/customers/{quote(customer_id, safe='')}", json=profile)
                    assert created.status_code == 201, created.text
                ada = quote("pii.ada@example.com", safe="")
                refused = await http.put(f"/v1/customers/{ada}", json={"phone": "+49 not a number"})
                assert refused.status_code == 422, refused.text
                for customer_id in CUSTOMERS:
                    event = {"customer_id": customer_id, "name": "signed_up", "properties": {"referrer": REFERRER}}
                    accepted = await http.post("/v1/events", json=event)
                    assert accepted.status_code == 202, accepted.text
                    assert accepted.json()["started"] == [f"journey/welcome/{customer_id}"], accepted.text
                for customer_id in CUSTOMERS:
                    shown = await http.get(f"/v1/customers/{quote(customer_id, safe='')}")
                    assert shown.status_code == 200, shown.text
                    assert shown.json()["active_journeys"] == [f"journey/welcome/{customer_id}"]
                missing = await http.get(f"/v1/customers/{quote(UNKNOWN, safe='')}")
                assert missing.status_code == 404, missing.text
                forged = await http.get("/v1/unsubscribe", params={"token": "forged.token"})
                assert forged.status_code == 400, forged.text

            async def all_sent() -> list[tuple[str, str, str | None]]:
                rows = deliveries(stack.database_file)
                return rows if [status for _, status, _ in rows] == ["sent"] * len(CUSTOMERS) else []

            assert sorted(await eventually(all_sent, timeout=45)) == sorted(
                (customer_id, "sent", "sendgrid") for customer_id in CUSTOMERS
            )
            assert len(sendgrid.messages) == len(CUSTOMERS)
            await visibility_queries_that_fail(stack)
            dev.send_signal(signal.SIGINT)
            assert await stack.wait() == 0, stack.log_tail()
        finally:
            await stack.kill()

    logs = {path.name: path.read_text(errors="replace") for path in tmp_path.rglob("*.log")}
    assert {"dev.log", "temporal.log"} <= set(logs), sorted(logs)
    leaked = {name: [form for form in secrets_of_the_scenario() if form in text] for name, text in logs.items()}
    assert leaked == {name: [] for name in logs}, leaked
    # The logs still tell the story, with customers masked by this deployment's key.
    masking = log_masking(stack.settings)
    dev_log = logs["dev.log"]
    for customer_id in CUSTOMERS:
        assert f"/v1/customers/{masking.fingerprint(customer_id)} HTTP/1.1" in dev_log
        assert f"journey/welcome/{masking.fingerprint(customer_id)}" in dev_log
    assert "sendgrid answered 500" in dev_log and "Traceback (most recent call last)" in dev_log
    assert 'GET /v1/unsubscribe?token=… HTTP/1.1" 400' in dev_log
    for customer_id in CUSTOMERS:
        assert f"unrecognized token: \\\"'{masking.fingerprint(customer_id)}" in logs["temporal.log"]
