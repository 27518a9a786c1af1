"""Consent, suppression, address checks and frequency caps in the send activity, on a real
SQLite database."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from activities.providers.outbox import OutboxProvider
from activities.send_message import MessagingActivities
from activities.sending.caps import FrequencyCap
from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.subscriptions import SUBSCRIBED, UNSUBSCRIBED, SubscriptionStore
from activities.store.suppressions import SuppressionStore
from activities.store.tables import OutboxMessage
from tests.helpers.messaging import make_messaging, send_request
from workflows.types import SendResult

NOW = "2026-11-24T10:00:00+00:00"


def messaging_with(database: Database, **settings: Any) -> MessagingActivities:
    outbox = OutboxProvider(database)
    return make_messaging(
        database, {"email": [outbox], "sms": [outbox]}, topic_defaults={"newsletter": UNSUBSCRIBED}, **settings
    )


async def send(messaging: MessagingActivities, key: str, **fields: object) -> SendResult:
    fields.setdefault("now", NOW)
    return await ActivityEnvironment().run(messaging.send_message, send_request(key, **fields))  # type: ignore[arg-type]


async def customer(database: Database, customer_id: str = "c1", **profile: object) -> str:
    profile.setdefault("email", "ada@example.com")
    profile.setdefault("phone", "+4915123456789")
    await CustomerStore(database).upsert(customer_id, profile)
    return customer_id


async def test_an_opt_out_stops_marketing_but_not_transactional_messages(database: Database) -> None:
    messaging = messaging_with(database)
    await customer(database)
    await SubscriptionStore(database, {}).choose("c1", "marketing", None, UNSUBSCRIBED, "api")

    marketing = await send(messaging, "m1", topic="marketing")
    transactional = await send(messaging, "t1", topic="transactional")

    assert (marketing.status, marketing.reason) == ("skipped", "no_consent")
    assert transactional.status == "sent"


async def test_consent_is_per_channel_and_a_channel_choice_beats_the_all_channels_one(database: Database) -> None:
    messaging = messaging_with(database)
    await customer(database)
    store = SubscriptionStore(database, {})
    await store.choose("c1", "marketing", None, UNSUBSCRIBED, "api")
    await store.choose("c1", "marketing", "sms", SUBSCRIBED, "api")

    email = await send(messaging, "e1", topic="marketing")
    sms = await send(messaging, "s1", topic="marketing", channel="sms", template="welcome_reminder")

    assert (email.status, email.reason) == ("skipped", "no_consent")
    assert sms.status == "sent"


async def test_an_opt_in_topic_needs_a_subscription_first(database: Database) -> None:
    messaging = messaging_with(database)
    await customer(database)

    before = await send(messaging, "n1", topic="newsletter")
    await SubscriptionStore(database, {}).choose("c1", "newsletter", None, SUBSCRIBED, "api")
    after = await send(messaging, "n2", topic="newsletter")

    assert (before.status, before.reason) == ("skipped", "no_consent")
    assert after.status == "sent"


async def test_a_suppressed_address_gets_nothing_not_even_transactional(database: Database) -> None:
    messaging = messaging_with(database)
    await customer(database, email="Bounced@Example.com")
    await SuppressionStore(database).suppress("email", "bounced@example.com", "hard bounce")

    result = await send(messaging, "t1", topic="transactional")
    sms = await send(messaging, "t2", topic="transactional", channel="sms", template="welcome_reminder")

    assert (result.status, result.reason) == ("skipped", "suppressed")
    assert sms.status == "sent"  # the suppression is for the email address only


async def test_an_invalid_stored_address_is_skipped_not_sent(database: Database) -> None:
    messaging = messaging_with(database)
    # Written past the API's validation (e.g. by an older version or a direct import).
    await customer(database, email="not-an-address", phone="+1555")

    email = await send(messaging, "e1")
    sms = await send(messaging, "s1", channel="sms", template="welcome_reminder")

    assert (email.status, email.reason) == ("skipped", "invalid_address")
    assert (sms.status, sms.reason) == ("skipped", "invalid_address")
    async with database.session() as session:
        assert (await session.exec(select(OutboxMessage))).all() == []


async def test_the_cap_counts_across_journeys_in_a_rolling_window(database: Database) -> None:
    messaging = messaging_with(database, frequency_caps={"marketing": FrequencyCap(limit=2, window=timedelta(days=7))})
    await customer(database)
    day = datetime.fromisoformat(NOW)

    first = await send(messaging, "journey-a/1", topic="marketing", now=day.isoformat())
    second = await send(messaging, "journey-b/1", topic="marketing", now=(day + timedelta(days=1)).isoformat())
    third = await send(messaging, "journey-c/1", topic="marketing", now=(day + timedelta(days=2)).isoformat())
    product = await send(messaging, "journey-c/2", topic="product", now=(day + timedelta(days=2)).isoformat())
    week_later = await send(
        messaging, "journey-c/3", topic="marketing", now=(day + timedelta(days=7, hours=1)).isoformat()
    )

    assert [first.status, second.status] == ["sent", "sent"]
    assert (third.status, third.reason) == ("skipped", "capped")
    assert product.status == "sent"  # another topic, another cap
    assert week_later.status == "sent"  # the first send left the window


async def test_two_journeys_racing_for_the_last_slot_cannot_both_pass(database: Database) -> None:
    messaging = messaging_with(database, frequency_caps={"marketing": FrequencyCap(limit=1, window=timedelta(days=1))})
    for index in range(5):
        await customer(database, f"racer-{index}")

    results: list[SendResult] = []
    for index in range(5):  # five customers, each with two journeys sending at the same moment
        pair = await asyncio.gather(
            send(messaging, f"a/{index}", customer_id=f"racer-{index}", topic="marketing"),
            send(messaging, f"b/{index}", customer_id=f"racer-{index}", topic="marketing"),
        )
        assert sorted(result.status for result in pair) == ["sent", "skipped"], pair
        results.extend(pair)

    assert [result.reason for result in results if result.status == "skipped"] == ["capped"] * 5
    async with database.session() as session:
        assert len((await session.exec(select(OutboxMessage))).all()) == 5


async def test_a_settled_send_is_not_capped_again_on_retry(database: Database) -> None:
    messaging = messaging_with(database, frequency_caps={"marketing": FrequencyCap(limit=1, window=timedelta(days=1))})
    await customer(database)

    first = await send(messaging, "k1", topic="marketing")
    retried = await send(messaging, "k1", topic="marketing")

    assert first.status == retried.status == "sent"
