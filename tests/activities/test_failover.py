"""Provider failover, retries and the duplicate policy of the send activity, with real providers
talking to real local servers (a fake Twilio API; an SMTP port nobody listens on)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlmodel import select

from activities.providers.outbox import OutboxProvider
from activities.providers.settings import SmtpSettings, TwilioSettings
from activities.providers.smtp import SmtpProvider
from activities.providers.twilio import TwilioProvider
from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.deliveries import DeliveryLedger
from activities.store.tables import OutboxMessage
from tests.helpers.fakes.server import serve
from tests.helpers.fakes.twilio import FakeTwilio
from tests.helpers.messaging import make_messaging, send_request, send_with_retries
from tests.helpers.support import free_port
from workflows.types import SendRequest


@pytest.fixture
async def twilio() -> AsyncIterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio()
    async with serve(fake.app) as base_url:
        yield fake, base_url


def twilio_provider(
    fake: FakeTwilio, base_url: str, *, token: str | None = None, timeout: float | None = None
) -> TwilioProvider:
    return TwilioProvider(
        TwilioSettings(
            account_sid=fake.account_sid,
            auth_token=SecretStr(token or fake.auth_token),
            base_url=base_url,
            from_number="+15005550006",
            timeout_seconds=timeout,
        )
    )


@pytest.fixture
async def customer(database: Database) -> str:
    await CustomerStore(database).upsert("c1", {"email": "ada@example.com", "phone": "+4915123456789"})
    return "c1"


def sms(key: str, topic: str = "product") -> SendRequest:
    return send_request(key, channel="sms", template="welcome_reminder", topic=topic)


async def outbox_count(database: Database) -> int:
    async with database.session() as session:
        return len((await session.exec(select(OutboxMessage))).all())


async def test_a_refusing_provider_fails_over_to_the_next(
    database: Database, customer: str, twilio: tuple[FakeTwilio, str]
) -> None:
    fake, base_url = twilio
    wrong_credentials = twilio_provider(fake, base_url, token="not-the-token")
    messaging = make_messaging(database, {"sms": [wrong_credentials, OutboxProvider(database)]})

    result, retries = await send_with_retries(messaging, sms("k1"))

    assert (result.status, result.provider, retries) == ("sent", "outbox", [])
    assert fake.messages == [] and await outbox_count(database) == 1
    await wrong_credentials.aclose()


async def test_the_last_provider_refusing_fails_the_send_with_its_reason(
    database: Database, customer: str, twilio: tuple[FakeTwilio, str]
) -> None:
    fake, base_url = twilio
    provider = twilio_provider(fake, base_url, token="not-the-token")
    messaging = make_messaging(database, {"sms": [provider]})

    result, _ = await send_with_retries(messaging, sms("k1"))

    assert result.status == "failed"
    assert result.reason is not None and "401" in result.reason and "Authenticate" in result.reason
    await provider.aclose()


async def test_transient_errors_are_retried_on_the_same_provider(
    database: Database, customer: str, twilio: tuple[FakeTwilio, str]
) -> None:
    fake, base_url = twilio
    fake.misbehave("503")
    fake.misbehave("429")
    provider = twilio_provider(fake, base_url)
    messaging = make_messaging(database, {"sms": [provider, OutboxProvider(database)]})

    result, retries = await send_with_retries(messaging, sms("k1"))

    assert (result.status, result.provider) == ("sent", "twilio")
    assert [error.type for error in retries] == ["TransientProviderError"] * 2
    assert retries[1].next_retry_delay == timedelta(seconds=3)  # Twilio's Retry-After
    assert len(fake.messages) == 1 and await outbox_count(database) == 0
    delivery = await DeliveryLedger(database).get("k1")
    assert delivery is not None and delivery.provider_message_id == fake.messages[0]["sid"]
    await provider.aclose()


async def test_an_unreachable_provider_hands_over_after_its_attempts(database: Database, customer: str) -> None:
    closed_port = free_port()
    smtp = SmtpProvider(SmtpSettings(host="127.0.0.1", port=closed_port, security="none", from_address="a@acme.test"))
    messaging = make_messaging(database, {"email": [smtp, OutboxProvider(database)]}, provider_attempts=2)

    result, retries = await send_with_retries(messaging, send_request("k1"))

    assert (result.status, result.provider) == ("sent", "outbox")
    assert len(retries) == 2 and all("unreachable" in str(error) for error in retries)
    assert await outbox_count(database) == 1


async def test_a_lost_answer_from_a_provider_without_keys_is_not_sent_again(
    database: Database, customer: str, twilio: tuple[FakeTwilio, str]
) -> None:
    fake, base_url = twilio
    fake.misbehave("hang")
    provider = twilio_provider(fake, base_url, timeout=0.5)
    messaging = make_messaging(database, {"sms": [provider, OutboxProvider(database)]})

    result, retries = await send_with_retries(messaging, sms("k1", topic="marketing"))

    assert len(retries) == 1 and "did not answer" in str(retries[0])
    assert result.status == "failed" and result.reason is not None and result.reason.startswith("uncertain")
    assert len(fake.messages) == 1  # Twilio got it once; nobody sent it again
    assert await outbox_count(database) == 0  # and no failover after a maybe-delivered call
    await provider.aclose()


async def test_a_lost_answer_for_a_transactional_message_is_sent_again(
    database: Database, customer: str, twilio: tuple[FakeTwilio, str]
) -> None:
    fake, base_url = twilio
    fake.misbehave("hang")
    provider = twilio_provider(fake, base_url, timeout=0.5)
    messaging = make_messaging(database, {"sms": [provider]})

    result, retries = await send_with_retries(messaging, sms("k1", topic="transactional"))

    assert (result.status, len(retries)) == ("sent", 1)
    assert len(fake.messages) == 2  # the documented trade: a second code beats none
    await provider.aclose()
