"""The webhook provider against a real HTTP receiver: signed per Standard Webhooks, de-duplicated
on webhook-id, and every kind of receiver answer turned into the right outcome."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from activities.providers.base import OutgoingMessage, PermanentProviderError, TransientProviderError
from activities.providers.settings import WebhookSettings
from activities.providers.settings import webhook_secret_key as secret_key
from activities.providers.webhook import WebhookProvider, sign, verify
from activities.sending.templates import Rendered
from starter.config.settings import Settings
from tests.helpers.fakes.server import serve
from tests.helpers.fakes.webhook_receiver import PATH, TEST_SECRET, WebhookReceiver

OTHER_SECRET = "whsec_" + base64.b64encode(b"another company's secret key!!").decode()


def message(key: str = "delivery-1", **overrides: Any) -> OutgoingMessage:
    """A webhook message for customer c-42, as the messaging activity builds it."""
    values: dict[str, Any] = {
        "idempotency_key": key,
        "customer_id": "c-42",
        "channel": "webhook",
        "topic": "onboarding",
        "recipient": "c-42",
        "content": Rendered(text="Welcome aboard, Ada!", subject="Welcome", html="<p>Welcome aboard, Ada!</p>"),
        "metadata": {"journey": "welcome", "step": "hello", "template": "welcome"},
    }
    return OutgoingMessage(**(values | overrides))


def settings(url: str, secret: str = TEST_SECRET, timeout_seconds: float | None = None) -> WebhookSettings:
    """Settings for one test."""
    return WebhookSettings(url=url, secret=SecretStr(secret), timeout_seconds=timeout_seconds)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[WebhookReceiver, str]]:
    """A fake company endpoint over real HTTP, and its URL."""
    fake = WebhookReceiver()
    async with serve(fake.app) as base_url:
        yield fake, base_url + PATH


@pytest.fixture
async def provider(receiver: tuple[WebhookReceiver, str]) -> AsyncIterator[WebhookProvider]:
    """The provider pointed at the fake receiver."""
    webhook = WebhookProvider(settings(receiver[1]))
    yield webhook
    await webhook.aclose()


async def test_message_arrives_signed_and_verifiable(
    receiver: tuple[WebhookReceiver, str], provider: WebhookProvider
) -> None:
    fake, _ = receiver
    before = datetime.now(UTC)

    receipt = await provider.send(message())

    assert receipt.provider_message_id == "delivery-1"
    assert len(fake.received) == 1
    payload = fake.received[0]
    assert payload["type"] == "overture.message"
    assert datetime.fromisoformat(payload["timestamp"]) >= before - timedelta(seconds=1)
    assert payload["data"] == {
        "customer_id": "c-42",
        "channel": "webhook",
        "topic": "onboarding",
        "journey": "welcome",
        "step": "hello",
        "template": "welcome",
        "idempotency_key": "delivery-1",
        "subject": "Welcome",
        "text": "Welcome aboard, Ada!",
        "html": "<p>Welcome aboard, Ada!</p>",
    }
    inbound = fake.inbound[0]
    assert inbound.headers["content-type"] == "application/json"
    assert inbound.headers["webhook-signature"].startswith("v1,")
    assert verify(TEST_SECRET, inbound.headers, inbound.body)


async def test_headers_carry_the_idempotency_key_and_current_timestamp(
    receiver: tuple[WebhookReceiver, str], provider: WebhookProvider
) -> None:
    fake, _ = receiver

    await provider.send(message("journey-7/step-3/attempt"))

    headers = fake.inbound[0].headers
    assert headers["webhook-id"] == "journey-7/step-3/attempt"
    assert abs(int(headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 10
    assert fake.received[0]["data"]["idempotency_key"] == "journey-7/step-3/attempt"


async def test_sending_the_same_message_twice_is_stored_once(
    receiver: tuple[WebhookReceiver, str], provider: WebhookProvider
) -> None:
    fake, _ = receiver

    first = await provider.send(message("delivery-dup"))
    second = await provider.send(message("delivery-dup"))
    await provider.send(message("delivery-other"))

    assert fake.requests == 3
    assert [payload["data"]["idempotency_key"] for payload in fake.received] == ["delivery-dup", "delivery-other"]
    assert first == second
    assert provider.honours_idempotency_key is True


async def test_receipt_is_the_receivers_id_when_it_answers_one(
    receiver: tuple[WebhookReceiver, str], provider: WebhookProvider
) -> None:
    fake, _ = receiver
    fake.answer_id = True

    first = await provider.send(message("a"))
    repeat = await provider.send(message("a"))
    other = await provider.send(message("b"))

    assert (first.provider_message_id, repeat.provider_message_id, other.provider_message_id) == (
        "rcv_1",
        "rcv_1",
        "rcv_2",
    )


async def test_missing_metadata_is_sent_as_null(
    receiver: tuple[WebhookReceiver, str], provider: WebhookProvider
) -> None:
    fake, _ = receiver

    await provider.send(message(metadata={}, content=Rendered(text="plain")))

    data = fake.received[0]["data"]
    assert (data["journey"], data["step"], data["template"], data["subject"], data["html"]) == (None,) * 5
    assert data["text"] == "plain"


async def test_503_is_transient_and_nothing_is_stored(
    receiver: tuple[WebhookReceiver, str], provider: WebhookProvider
) -> None:
    fake, _ = receiver
    fake.misbehave("503")

    with pytest.raises(TransientProviderError) as caught:
        await provider.send(message())

    assert "503" in caught.value.reason
    assert caught.value.maybe_delivered is False
    assert fake.received == []


async def test_500_then_retry_delivers(receiver: tuple[WebhookReceiver, str], provider: WebhookProvider) -> None:
    fake, _ = receiver
    fake.misbehave("500")

    with pytest.raises(TransientProviderError):
        await provider.send(message())
    receipt = await provider.send(message())

    assert receipt.provider_message_id == "delivery-1"
    assert len(fake.received) == 1


async def test_429_is_transient_with_retry_after(
    receiver: tuple[WebhookReceiver, str], provider: WebhookProvider
) -> None:
    fake, _ = receiver
    fake.misbehave("429")

    with pytest.raises(TransientProviderError) as caught:
        await provider.send(message())

    assert caught.value.retry_after == timedelta(seconds=3)
    assert "429" in caught.value.reason


async def test_410_gone_is_permanent(receiver: tuple[WebhookReceiver, str], provider: WebhookProvider) -> None:
    fake, _ = receiver
    fake.misbehave("410")

    with pytest.raises(PermanentProviderError) as caught:
        await provider.send(message())

    assert "410" in caught.value.reason
    assert "gone" in caught.value.reason
    assert fake.received == []


async def test_a_wrong_secret_is_refused_by_the_receiver_permanently(receiver: tuple[WebhookReceiver, str]) -> None:
    fake, url = receiver
    impostor = WebhookProvider(settings(url, secret=OTHER_SECRET))
    try:
        with pytest.raises(PermanentProviderError) as caught:
            await impostor.send(message())
    finally:
        await impostor.aclose()

    assert "401" in caught.value.reason
    assert fake.requests == 1
    assert fake.received == []


async def test_hang_with_a_short_timeout_is_transient_and_maybe_delivered(
    receiver: tuple[WebhookReceiver, str],
) -> None:
    fake, url = receiver
    fake.misbehave("hang")
    impatient = WebhookProvider(settings(url, timeout_seconds=0.5))
    try:
        with pytest.raises(TransientProviderError) as caught:
            await impatient.send(message("delivery-hang"))
        receipt = await impatient.send(message("delivery-hang"))  # the retry the key makes safe
    finally:
        await impatient.aclose()

    assert caught.value.maybe_delivered is True
    assert receipt.provider_message_id == "delivery-hang"
    assert fake.requests == 2
    assert len(fake.received) == 1


async def test_unreachable_receiver_is_transient_not_maybe_delivered() -> None:
    fake = WebhookReceiver()
    async with serve(fake.app) as base_url:
        url = base_url + PATH
    closed = WebhookProvider(settings(url))  # the server has stopped: nothing listens there any more
    try:
        with pytest.raises(TransientProviderError) as caught:
            await closed.send(message())
    finally:
        await closed.aclose()

    assert caught.value.maybe_delivered is False
    assert "unreachable" in caught.value.reason


async def test_another_channel_is_refused_without_a_request(
    receiver: tuple[WebhookReceiver, str], provider: WebhookProvider
) -> None:
    fake, _ = receiver

    with pytest.raises(PermanentProviderError):
        await provider.send(message(channel="sms"))

    assert fake.requests == 0


def _signed(secret: str, body: bytes, msg_id: str = "msg_1", at: datetime | None = None) -> dict[str, str]:
    timestamp = int((at or datetime.now(UTC)).timestamp())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret_key(secret), msg_id, timestamp, body),
    }


def test_sign_matches_the_standard_webhooks_reference_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }

    assert sign(secret_key(secret), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == headers["webhook-signature"]
    assert verify(secret, headers, body, now=datetime.fromtimestamp(1614265330 + 60, UTC))


def test_verify_refuses_a_tampered_body() -> None:
    body = b'{"type":"overture.message","data":{"text":"hello"}}'
    headers = _signed(TEST_SECRET, body)

    assert verify(TEST_SECRET, headers, body)
    assert not verify(TEST_SECRET, headers, body.replace(b"hello", b"hell0"))


def test_verify_refuses_a_tampered_id_or_timestamp() -> None:
    body = b"{}"
    headers = _signed(TEST_SECRET, body)

    assert not verify(TEST_SECRET, headers | {"webhook-id": "msg_2"}, body)
    assert not verify(TEST_SECRET, headers | {"webhook-timestamp": str(int(headers["webhook-timestamp"]) - 1)}, body)


def test_verify_refuses_a_wrong_secret() -> None:
    body = b"{}"

    assert not verify(TEST_SECRET, _signed(OTHER_SECRET, body), body)
    assert verify(OTHER_SECRET, _signed(OTHER_SECRET, body), body)
    assert verify(secret_key(OTHER_SECRET), _signed(OTHER_SECRET, body), body)


def test_verify_refuses_a_stale_or_future_timestamp() -> None:
    body = b"{}"
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    assert verify(TEST_SECRET, _signed(TEST_SECRET, body, at=now - timedelta(minutes=4)), body, now=now)
    assert not verify(TEST_SECRET, _signed(TEST_SECRET, body, at=now - timedelta(minutes=6)), body, now=now)
    assert not verify(TEST_SECRET, _signed(TEST_SECRET, body, at=now + timedelta(minutes=6)), body, now=now)
    stale = _signed(TEST_SECRET, body, at=now - timedelta(minutes=20))
    assert verify(TEST_SECRET, stale, body, tolerance=timedelta(minutes=30), now=now)


def test_verify_accepts_any_of_several_signatures() -> None:
    body = b"{}"
    headers = _signed(TEST_SECRET, body)
    old = _signed(OTHER_SECRET, body, at=datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC))

    rotated = f"{old['webhook-signature']} {headers['webhook-signature']}"
    unsigned = {name: value for name, value in headers.items() if name != "webhook-signature"}

    assert verify(TEST_SECRET, headers | {"webhook-signature": rotated}, body)
    assert verify(OTHER_SECRET, headers | {"webhook-signature": rotated}, body)
    assert not verify(TEST_SECRET, headers | {"webhook-signature": "v1,bm90IGEgc2lnbmF0dXJl v2,x"}, body)
    assert not verify(TEST_SECRET, unsigned, body)


def test_verify_reads_header_names_in_any_case() -> None:
    body = b"{}"
    headers = {name.title(): value for name, value in _signed(TEST_SECRET, body).items()}

    assert "Webhook-Id" in headers
    assert verify(TEST_SECRET, headers, body)


@pytest.mark.parametrize("secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_"])
def test_a_secret_that_is_not_whsec_base64_is_a_settings_error(secret: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings("https://hooks.acme.test/overture", secret=secret)

    assert "secret" in str(caught.value)
    assert secret not in str(caught.value)  # the (mistyped) secret does not leak into errors or logs


def test_a_url_that_is_not_http_is_a_settings_error() -> None:
    with pytest.raises(ValidationError):
        settings("hooks.acme.test/overture")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERTURE_WEBHOOK_URL", "https://hooks.acme.test/overture")
    monkeypatch.setenv("OVERTURE_WEBHOOK_SECRET", TEST_SECRET)
    monkeypatch.setenv("OVERTURE_WEBHOOK_TIMEOUT_SECONDS", "2.5")

    configured = Settings.load().providers.webhook

    assert configured is not None
    assert configured.url == "https://hooks.acme.test/overture"
    assert configured.secret.get_secret_value() == TEST_SECRET
    assert configured.timeout_seconds == 2.5
    assert TEST_SECRET not in repr(configured)
