"""The Twilio provider against a fake Messages API over real HTTP, and TwilioFeedback reading
signed status callbacks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr

from activities.providers.base import OutgoingMessage, PermanentProviderError, TransientProviderError
from activities.providers.feedback import DeliveryFeedback, InboundWebhook
from activities.providers.settings import TwilioSettings
from activities.providers.twilio import TwilioFeedback, TwilioProvider, twilio_signature
from activities.sending.templates import Rendered
from tests.helpers.fakes.server import serve
from tests.helpers.fakes.twilio import FakeTwilio

SMS_FROM = "+15005550006"
WHATSAPP_FROM = "+14155238886"
RECIPIENT = "+4917612345678"
CALLBACK_URL = "https://overture.acme.test/v1/webhooks/twilio"
SID = "SM" + "a" * 32


@dataclass
class Twilio:
    """The fake account and its base URL."""

    fake: FakeTwilio
    base_url: str

    def provider(self, **overrides: Any) -> TwilioProvider:
        """A provider for this account (overrides change its settings)."""
        values: dict[str, Any] = {
            "account_sid": self.fake.account_sid,
            "auth_token": SecretStr(self.fake.auth_token),
            "base_url": self.base_url,
            "from_number": SMS_FROM,
            "whatsapp_from": WHATSAPP_FROM,
            "status_callback_url": CALLBACK_URL,
        }
        return TwilioProvider(TwilioSettings(**(values | overrides)))


@pytest.fixture
async def twilio() -> AsyncIterator[Twilio]:
    """A fake Twilio account over real HTTP."""
    fake = FakeTwilio()
    async with serve(fake.app) as base_url:
        yield Twilio(fake, base_url)


@pytest.fixture
async def provider(twilio: Twilio) -> AsyncIterator[TwilioProvider]:
    """The provider pointed at the fake account."""
    sender = twilio.provider()
    yield sender
    await sender.aclose()


def message(channel: str = "sms", recipient: str = RECIPIENT, **overrides: Any) -> OutgoingMessage:
    """A short text message to `recipient`."""
    values: dict[str, Any] = {
        "idempotency_key": "delivery-1",
        "customer_id": "c-42",
        "channel": channel,
        "topic": "onboarding",
        "recipient": recipient,
        "content": Rendered(text="Welcome to Acme, Ada! Reply STOP to opt out."),
    }
    return OutgoingMessage(**(values | overrides))


async def test_sms_arrives_with_to_from_and_body(twilio: Twilio, provider: TwilioProvider) -> None:
    receipt = await provider.send(message())

    assert len(twilio.fake.messages) == 1
    sent = twilio.fake.messages[0]
    assert sent["To"] == RECIPIENT
    assert sent["From"] == SMS_FROM
    assert sent["Body"] == "Welcome to Acme, Ada! Reply STOP to opt out."
    assert sent["StatusCallback"] == CALLBACK_URL
    assert receipt.provider_message_id == sent["sid"]
    assert receipt.provider_message_id.startswith("SM")


async def test_whatsapp_uses_the_whatsapp_prefix(twilio: Twilio, provider: TwilioProvider) -> None:
    await provider.send(message("whatsapp"))
    await provider.send(message("whatsapp", recipient="whatsapp:" + RECIPIENT))

    assert [sent["To"] for sent in twilio.fake.messages] == ["whatsapp:" + RECIPIENT] * 2
    assert [sent["From"] for sent in twilio.fake.messages] == ["whatsapp:" + WHATSAPP_FROM] * 2


async def test_messaging_service_alone_is_a_sender(twilio: Twilio) -> None:
    sender = twilio.provider(from_number=None, whatsapp_from=None, messaging_service_sid="MG" + "0" * 32)
    try:
        await sender.send(message())
    finally:
        await sender.aclose()

    sent = twilio.fake.messages[0]
    assert sent["MessagingServiceSid"] == "MG" + "0" * 32
    assert "From" not in sent


async def test_whatsapp_without_a_whatsapp_sender_is_permanent_without_a_request(twilio: Twilio) -> None:
    sender = twilio.provider(whatsapp_from=None)
    try:
        with pytest.raises(PermanentProviderError) as caught:
            await sender.send(message("whatsapp"))
    finally:
        await sender.aclose()

    assert "no sender" in caught.value.reason
    assert twilio.fake.messages == []


async def test_invalid_number_is_permanent_with_the_code_and_the_number_redacted(provider: TwilioProvider) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        await provider.send(message(recipient="0176 1234 5678"))

    reason = caught.value.reason
    assert "21211" in reason
    assert "400" in reason
    assert "0176" not in reason
    assert "5678" not in reason


async def test_wrong_token_is_permanent_401(twilio: Twilio) -> None:
    sender = twilio.provider(auth_token=SecretStr("not-the-token"))
    try:
        with pytest.raises(PermanentProviderError) as caught:
            await sender.send(message())
    finally:
        await sender.aclose()

    assert "401" in caught.value.reason
    assert "20003" in caught.value.reason
    assert twilio.fake.messages == []


async def test_429_is_transient_with_retry_after(twilio: Twilio, provider: TwilioProvider) -> None:
    twilio.fake.misbehave("429")

    with pytest.raises(TransientProviderError) as caught:
        await provider.send(message())

    assert caught.value.retry_after == timedelta(seconds=3)
    assert caught.value.maybe_delivered is False
    assert twilio.fake.messages == []


async def test_503_is_transient(twilio: Twilio, provider: TwilioProvider) -> None:
    twilio.fake.misbehave("503")

    with pytest.raises(TransientProviderError) as caught:
        await provider.send(message())
    receipt = await provider.send(message())

    assert "503" in caught.value.reason
    assert caught.value.maybe_delivered is False
    assert [sent["sid"] for sent in twilio.fake.messages] == [receipt.provider_message_id]


async def test_hang_with_a_short_timeout_is_transient_and_maybe_delivered(twilio: Twilio) -> None:
    twilio.fake.misbehave("hang")
    sender = twilio.provider(timeout_seconds=0.5)
    try:
        with pytest.raises(TransientProviderError) as caught:
            await sender.send(message())
    finally:
        await sender.aclose()

    assert caught.value.maybe_delivered is True
    assert len(twilio.fake.messages) == 1  # Twilio did create it: re-sending would send it twice
    assert TwilioProvider.honours_idempotency_key is False


async def test_email_is_refused_without_a_request(twilio: Twilio, provider: TwilioProvider) -> None:
    with pytest.raises(PermanentProviderError):
        await provider.send(message("email", recipient="ada@example.test"))

    assert twilio.fake.messages == []


def test_settings_need_a_sender_and_e164_numbers() -> None:
    base: dict[str, Any] = {"account_sid": "AC1", "auth_token": SecretStr("t")}

    with pytest.raises(ValueError, match="from_number"):
        TwilioSettings(**base)
    with pytest.raises(ValueError, match=r"E\.164"):
        TwilioSettings(**base, from_number="0176 1234 5678")
    configured = TwilioSettings(**base, from_number=SMS_FROM)
    assert configured.from_number == SMS_FROM


# --- status callbacks -------------------------------------------------------------------------

FEEDBACK = TwilioFeedback(SecretStr(FakeTwilio.auth_token))


def callback(token: str = FakeTwilio.auth_token, url: str = CALLBACK_URL, **params: str) -> InboundWebhook:
    """A status callback the way Twilio posts it: form-encoded, signed with `token`."""
    pairs = list(({"MessageSid": SID, "AccountSid": FakeTwilio.account_sid, "To": RECIPIENT} | params).items())
    signature = twilio_signature(token.encode(), url, pairs)
    return InboundWebhook(
        url=url,
        headers={"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature},
        body=urlencode(pairs).encode(),
    )


def test_a_signed_status_callback_verifies() -> None:
    assert FEEDBACK.verify(callback(MessageStatus="delivered"))


def test_a_tampered_status_callback_does_not_verify() -> None:
    genuine = callback(MessageStatus="undelivered", ErrorCode="30005")
    tampered = InboundWebhook(genuine.url, genuine.headers, genuine.body.replace(b"30005", b"30003"))
    elsewhere = InboundWebhook(CALLBACK_URL + "?x=1", genuine.headers, genuine.body)

    assert FEEDBACK.verify(genuine)
    assert not FEEDBACK.verify(tampered)
    assert not FEEDBACK.verify(elsewhere)


def test_an_unsigned_or_foreign_status_callback_does_not_verify() -> None:
    genuine = callback(MessageStatus="delivered")
    unsigned = InboundWebhook(genuine.url, {"content-type": "application/x-www-form-urlencoded"}, genuine.body)

    assert not FEEDBACK.verify(unsigned)
    assert not FEEDBACK.verify(callback(token="someone-elses-token", MessageStatus="delivered"))
    assert not FEEDBACK.verify(InboundWebhook(genuine.url, genuine.headers, b"not=a&form"))


def test_delivered_is_delivered() -> None:
    assert FEEDBACK.parse(callback(MessageStatus="delivered")) == [
        DeliveryFeedback(kind="delivered", provider_message_id=SID, address=RECIPIENT, detail="delivered")
    ]


def test_undelivered_to_an_unknown_number_is_a_permanent_bounce() -> None:
    [feedback] = FEEDBACK.parse(callback(MessageStatus="undelivered", ErrorCode="30005"))

    assert feedback.kind == "bounced"
    assert feedback.permanent is True
    assert feedback.address == RECIPIENT
    assert feedback.detail == "undelivered (error 30005)"


def test_unreachable_handset_is_a_soft_bounce() -> None:
    [feedback] = FEEDBACK.parse(callback(MessageStatus="failed", ErrorCode="30003"))

    assert (feedback.kind, feedback.permanent) == ("bounced", False)


def test_whatsapp_failures_are_never_permanent() -> None:
    [feedback] = FEEDBACK.parse(callback(MessageStatus="undelivered", ErrorCode="30005", To="whatsapp:" + RECIPIENT))

    assert (feedback.kind, feedback.permanent, feedback.address) == ("bounced", False, RECIPIENT)


def test_stop_reply_21610_is_a_complaint() -> None:
    [feedback] = FEEDBACK.parse(callback(MessageStatus="undelivered", ErrorCode="21610"))

    assert feedback.kind == "complained"
    assert feedback.permanent is False


def test_read_receipt_is_opened() -> None:
    [feedback] = FEEDBACK.parse(callback(MessageStatus="read", To="whatsapp:" + RECIPIENT))

    assert feedback.kind == "opened"


@pytest.mark.parametrize("status", ["queued", "sending", "sent", "accepted"])
def test_interim_states_carry_no_feedback(status: str) -> None:
    assert FEEDBACK.parse(callback(MessageStatus=status)) == []


@pytest.mark.parametrize(
    "body",
    [
        b"MessageStatus=delivered",  # no MessageSid
        b"MessageSid=SM1",  # no MessageStatus
        b"MessageSid=SM1&MessageStatus=failed&ErrorCode=abc",
        b'{"MessageSid": "SM1"}',  # not a form
        b"\xff\xfe",  # not UTF-8
    ],
)
def test_malformed_callbacks_raise_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        FEEDBACK.parse(InboundWebhook(CALLBACK_URL, {}, body))
