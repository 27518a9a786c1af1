"""The send activity on a real SQLite database, in Temporal's activity environment."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from activities.journey_support import JourneySupportActivities
from activities.providers.outbox import OutboxProvider
from activities.send_message import MessagingActivities
from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.deliveries import DeliveryLedger
from activities.store.tables import Delivery, OutboxMessage
from starter.config.settings import BUNDLED_TEMPLATES
from tests.helpers.messaging import make_messaging, send_request
from workflows.timing import QuietHours


@pytest.fixture
async def messaging(database: Database, tmp_path: Path) -> MessagingActivities:
    own = tmp_path / "templates" / "sms"
    own.mkdir(parents=True)
    (own / "code.text.liquid").write_text("Your code: {{ data.code }}")
    await CustomerStore(database).upsert("c1", {"email": "ada@example.com", "phone": "+4915123456789"})
    outbox = OutboxProvider(database)
    return make_messaging(
        database, {"email": [outbox], "sms": [outbox]}, template_dirs=[tmp_path / "templates", BUNDLED_TEMPLATES]
    )


request = send_request


async def outbox_rows(database: Database) -> list[OutboxMessage]:
    async with database.session() as session:
        return list((await session.exec(select(OutboxMessage))).all())


async def test_a_retried_send_is_delivered_once(messaging: MessagingActivities, database: Database) -> None:
    env = ActivityEnvironment()

    first = await env.run(messaging.send_message, request("k1"))
    second = await env.run(messaging.send_message, request("k1"))

    assert first == second and first.status == "sent"
    assert len(await outbox_rows(database)) == 1


async def test_a_send_interrupted_after_opening_its_row_completes_once(
    messaging: MessagingActivities, database: Database
) -> None:
    # A crash between writing the delivery row and the provider call leaves it `sending`.
    await DeliveryLedger(database).reserve(request("k2"), "outbox", None, datetime.now(UTC))

    result = await ActivityEnvironment().run(messaging.send_message, request("k2"))

    assert result.status == "sent"
    rows = await outbox_rows(database)
    assert [row.delivery_key for row in rows] == ["k2"] and rows[0].recipient == "ada@example.com"


async def test_a_missing_template_variable_is_recorded_as_a_failure(
    messaging: MessagingActivities, database: Database
) -> None:
    result = await ActivityEnvironment().run(messaging.send_message, request("k3", channel="sms", template="code"))

    assert result.status == "failed"
    assert result.reason is not None and "template_error" in result.reason and "data.code is undefined" in result.reason
    async with database.session() as session:
        row = (await session.exec(select(Delivery).where(Delivery.idempotency_key == "k3"))).one()
    assert (row.status, row.error) == ("failed", result.reason)
    assert await outbox_rows(database) == []


async def test_unknown_customer_and_missing_address_are_skips(messaging: MessagingActivities) -> None:
    env = ActivityEnvironment()

    unknown = await env.run(messaging.send_message, request("k4", customer_id="nobody"))
    no_push_token = await env.run(messaging.send_message, request("k5", channel="push"))

    assert (unknown.status, unknown.reason) == ("skipped", "unknown_customer")
    assert (no_push_token.status, no_push_token.reason) == ("skipped", "no_address")


async def test_global_quiet_hours_hold_marketing_until_morning(database: Database) -> None:
    await CustomerStore(database).upsert("berlin", {"email": "b@example.com", "timezone": "Europe/Berlin"})
    outbox = OutboxProvider(database)
    messaging = make_messaging(database, {"email": [outbox]}, quiet_hours="21:00-08:00")
    env = ActivityEnvironment()
    late = "2026-11-24T22:30:00+00:00"  # 23:30 in Berlin

    marketing = await env.run(messaging.send_message, request("q1", customer_id="berlin", topic="marketing", now=late))
    transactional = await env.run(
        messaging.send_message, request("q2", customer_id="berlin", topic="transactional", now=late)
    )
    own_window = await env.run(
        messaging.send_message,
        request("q3", customer_id="berlin", topic="marketing", now=late, quiet_hours=QuietHours.parse("12:00-13:00")),
    )

    assert (marketing.status, marketing.reason, marketing.not_before) == (
        "deferred",
        "quiet_hours",
        "2026-11-25T07:00:00+00:00",
    )
    assert await DeliveryLedger(database).get("q1") is None  # nothing recorded until it is really sent
    assert transactional.status == "sent"
    assert own_window.status == "sent"  # the journey's own window replaces the global one


async def test_the_profile_a_journey_sees_has_no_contact_details(database: Database) -> None:
    await CustomerStore(database).upsert(
        "p1", {"email": "p@example.com", "phone": "+4915123456789", "attributes": {"plan": "team"}}
    )
    support = JourneySupportActivities(database, CustomerStore(database), "America/Chicago")

    profile = await ActivityEnvironment().run(support.load_profile, "p1")
    nobody = await ActivityEnvironment().run(support.load_profile, "nobody")

    assert (profile.exists, profile.has_email, profile.has_phone, profile.has_push) == (True, True, True, False)
    assert profile.timezone == "America/Chicago" and profile.attributes == {"plan": "team"}
    assert "p@example.com" not in repr(profile) and "+4915123456789" not in repr(profile)
    assert (nobody.exists, nobody.timezone) == (False, "America/Chicago")
