"""Transient provider errors retried by Temporal itself (not by the test): a journey on the
time-skipping server sends through a fake Twilio that fails twice before it accepts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from starter.config.settings import BUNDLED_TEMPLATES, Settings
from starter.testing import JourneyBench
from tests.helpers.fakes.server import serve
from tests.helpers.fakes.twilio import FakeTwilio
from tests.helpers.support import TEST_TEMPLATES, make_settings


@pytest.fixture
async def twilio_at() -> AsyncIterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio()
    async with serve(fake.app) as base_url:
        yield fake, base_url


@pytest.fixture
def twilio(twilio_at: tuple[FakeTwilio, str]) -> FakeTwilio:
    return twilio_at[0]


@pytest.fixture
def settings(tmp_path: Path, twilio_at: tuple[FakeTwilio, str]) -> Settings:
    """The bench's settings: SMS through Twilio only."""
    fake, base_url = twilio_at
    section = {
        "account_sid": fake.account_sid,
        "auth_token": fake.auth_token,
        "base_url": base_url,
        "from_number": "+15005550006",
    }
    return make_settings(
        tmp_path,
        channel_providers={"sms": ["twilio"]},
        providers={"twilio": section},
        template_dirs=[TEST_TEMPLATES, BUNDLED_TEMPLATES],
    )


@pytest.fixture
async def bench(time_skipping_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[JourneyBench]:
    """A bench that keeps the configured provider (the fake Twilio) instead of the outbox."""
    async with JourneyBench.start(settings=settings, env=time_skipping_env, keep_providers=True) as bench:
        yield bench


async def test_a_flaky_provider_is_retried_by_temporal_until_it_accepts(
    bench: JourneyBench, twilio: FakeTwilio
) -> None:
    twilio.misbehave("503")
    twilio.misbehave("429")
    customer_id = await bench.customer(phone="+4915123456789")

    routing = await bench.event(customer_id, "lab_ping", channel="sms")
    outcome = await bench.outcome(routing.started[0])

    assert outcome.status == "completed"
    [delivery] = await bench.deliveries(customer_id)
    assert (delivery.status, delivery.provider, delivery.attempts) == ("sent", "twilio", 2)
    assert [message["sid"] for message in twilio.messages] == [delivery.provider_message_id]
    assert twilio.messages[0]["Body"].strip() == f"Ping for {customer_id}"
