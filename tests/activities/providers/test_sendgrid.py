"""The SendGrid provider against a fake SendGrid over real HTTP, and its signed Event Webhook parser."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from activities.providers.base import OutgoingMessage, PermanentProviderError, TransientProviderError
from activities.providers.feedback import InboundWebhook
from activities.providers.sendgrid import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SendGridFeedback,
    SendGridProvider,
)
from activities.providers.settings import SendGridSettings
from activities.sending.templates import Rendered
from starter.config.settings import Settings
from tests.helpers.fakes.sendgrid import EventSigner, FakeSendGrid, Misbehaviour, sendgrid_event
from tests.helpers.fakes.server import serve
from tests.helpers.support import free_port

RECIPIENT = "ada@example.test"
UNSUBSCRIBE = "<https://acme.test/u/abc>, <mailto:unsubscribe@acme.test>"


def settings(base_url: str, api_key: str, **overrides: object) -> SendGridSettings:
    """Settings for a provider talking to `base_url`."""
    values: dict[str, object] = {
        "api_key": SecretStr(api_key),
        "from_address": "Acme <hello@acme.test>",
        "base_url": base_url,
        **overrides,
    }
    return SendGridSettings.model_validate(values)


def message(recipient: str = RECIPIENT, html: str | None = "<p>Welcome, Ada</p>") -> OutgoingMessage:
    """A welcome email with an unsubscribe header."""
    return OutgoingMessage(
        idempotency_key="welcome:cust-1:1",
        customer_id="cust-1",
        channel="email",
        topic="onboarding",
        recipient=recipient,
        content=Rendered(text="Welcome, Ada", subject="Welcome to Acme", html=html),
        headers={"List-Unsubscribe": UNSUBSCRIBE, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeSendGrid, str]]:
    """A fake SendGrid being served, and its base URL."""
    sendgrid = FakeSendGrid()
    async with serve(sendgrid.app) as url:
        yield sendgrid, url


@pytest.fixture
async def provider(fake: tuple[FakeSendGrid, str]) -> AsyncIterator[SendGridProvider]:
    """A provider with the fake's key and a short timeout."""
    sendgrid, url = fake
    client = SendGridProvider(settings(url, sendgrid.api_key, timeout_seconds=2.0))
    yield client
    await client.aclose()


async def test_message_arrives_with_everything(fake: tuple[FakeSendGrid, str], provider: SendGridProvider) -> None:
    sendgrid, _ = fake

    receipt = await provider.send(message())

    [mail] = sendgrid.messages
    assert receipt.provider_message_id == mail.message_id
    body = mail.body
    assert body["from"] == {"email": "hello@acme.test", "name": "Acme"}
    assert body["personalizations"] == [
        {
            "to": [{"email": RECIPIENT}],
            "custom_args": {"overture_key": "welcome:cust-1:1", "overture_customer": "cust-1"},
        }
    ]
    assert body["subject"] == "Welcome to Acme"
    assert body["content"] == [
        {"type": "text/plain", "value": "Welcome, Ada"},
        {"type": "text/html", "value": "<p>Welcome, Ada</p>"},
    ]
    assert body["headers"]["List-Unsubscribe"] == UNSUBSCRIBE
    assert body["categories"] == ["onboarding"]


async def test_text_only_message_has_one_part_and_no_reserved_headers(
    fake: tuple[FakeSendGrid, str], provider: SendGridProvider
) -> None:
    sendgrid, _ = fake
    plain = replace(message(html=None), headers={"Subject": "spoofed", "X-Campaign": "w1"})

    await provider.send(plain)

    body = sendgrid.messages[0].body
    assert body["content"] == [{"type": "text/plain", "value": "Welcome, Ada"}]
    assert body["headers"] == {"X-Campaign": "w1"}
    assert body["subject"] == "Welcome to Acme"


async def test_wrong_key_is_permanent_with_sendgrids_message(fake: tuple[FakeSendGrid, str]) -> None:
    sendgrid, url = fake
    wrong = SendGridProvider(settings(url, "SG.wrong"))
    try:
        with pytest.raises(PermanentProviderError) as caught:
            await wrong.send(message())
    finally:
        await wrong.aclose()

    assert "401" in caught.value.reason
    assert "authorization grant is invalid" in caught.value.reason
    assert sendgrid.messages == []


async def test_invalid_recipient_is_permanent_without_the_address(provider: SendGridProvider) -> None:
    bad = "ada@@example"

    with pytest.raises(PermanentProviderError) as caught:
        await provider.send(message(recipient=bad))

    assert "400" in caught.value.reason
    assert "personalizations.0.to" in caught.value.reason
    assert bad not in caught.value.reason
    assert "@" not in caught.value.reason


async def test_rate_limit_is_transient_with_retry_after(
    fake: tuple[FakeSendGrid, str], provider: SendGridProvider
) -> None:
    sendgrid, _ = fake
    sendgrid.misbehave("429")

    with pytest.raises(TransientProviderError) as caught:
        await provider.send(message())

    assert "429" in caught.value.reason
    assert caught.value.retry_after == timedelta(seconds=3)
    assert caught.value.maybe_delivered is False
    assert sendgrid.messages == []


async def test_rate_limit_reset_stands_in_for_a_missing_retry_after(
    fake: tuple[FakeSendGrid, str], provider: SendGridProvider
) -> None:
    sendgrid, _ = fake
    sendgrid.retry_after = None
    sendgrid.misbehave("429")

    with pytest.raises(TransientProviderError) as caught:
        await provider.send(message())

    assert caught.value.retry_after is not None
    assert timedelta(seconds=40) <= caught.value.retry_after <= timedelta(seconds=42)


@pytest.mark.parametrize("status", ["500", "503"])
async def test_outage_is_transient(
    fake: tuple[FakeSendGrid, str], provider: SendGridProvider, status: Misbehaviour
) -> None:
    sendgrid, _ = fake
    sendgrid.misbehave(status)

    with pytest.raises(TransientProviderError) as caught:
        await provider.send(message())

    assert status in caught.value.reason
    assert caught.value.maybe_delivered is False
    receipt = await provider.send(message())  # the outage is over
    assert receipt.provider_message_id == sendgrid.messages[0].message_id


async def test_hang_is_transient_and_maybe_delivered(fake: tuple[FakeSendGrid, str]) -> None:
    sendgrid, url = fake
    sendgrid.misbehave("hang")
    impatient = SendGridProvider(settings(url, sendgrid.api_key, timeout_seconds=0.3))
    try:
        with pytest.raises(TransientProviderError) as caught:
            await impatient.send(message())
    finally:
        await impatient.aclose()

    assert caught.value.maybe_delivered is True
    assert len(sendgrid.messages) == 1  # it did arrive


async def test_unreachable_is_transient_and_not_delivered() -> None:
    nowhere = SendGridProvider(settings(f"http://127.0.0.1:{free_port()}", "SG.key", timeout_seconds=2.0))
    try:
        with pytest.raises(TransientProviderError) as caught:
            await nowhere.send(message())
    finally:
        await nowhere.aclose()

    assert caught.value.maybe_delivered is False
    assert "unreachable" in caught.value.reason


async def test_other_channels_and_missing_subject_are_refused(provider: SendGridProvider) -> None:
    with pytest.raises(PermanentProviderError, match="'sms'"):
        await provider.send(replace(message(), channel="sms"))
    with pytest.raises(PermanentProviderError, match="subject"):
        await provider.send(replace(message(), content=Rendered(text="hi")))


async def test_settings_and_parsers_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = EventSigner()
    monkeypatch.setenv("OVERTURE_SENDGRID_API_KEY", "SG.env")
    monkeypatch.setenv("OVERTURE_SENDGRID_FROM_ADDRESS", "hello@acme.test")
    monkeypatch.setenv("OVERTURE_SENDGRID_WEBHOOK_PUBLIC_KEY", signer.public_key)

    section = Settings.load().providers.sendgrid
    assert section is not None
    provider = SendGridProvider(section)
    feedback = SendGridFeedback.configured(section)

    assert provider.payload(message())["from"] == {"email": "hello@acme.test"}
    await provider.aclose()
    assert feedback.verify(signer.webhook([sendgrid_event("delivered", "abc")]))
    monkeypatch.setenv("OVERTURE_SENDGRID_FROM_ADDRESS", "Acme")
    with pytest.raises(ValueError, match="OVERTURE_SENDGRID_FROM_ADDRESS: must contain an email address"):
        Settings.load()


# --- the Event Webhook ---


@pytest.fixture
def signer() -> EventSigner:
    """SendGrid's signing key (a fresh one)."""
    return EventSigner()


@pytest.fixture
def parser(signer: EventSigner) -> SendGridFeedback:
    """A parser trusting `signer`'s key."""
    return SendGridFeedback(signer.public_key)


def test_signed_events_are_verified_and_parsed(signer: EventSigner, parser: SendGridFeedback) -> None:
    at = 1_750_000_000
    events = [
        sendgrid_event("processed", "msg1", key="k1", timestamp=at),
        sendgrid_event("deferred", "msg1", key="k1", timestamp=at, response="421 try later"),
        sendgrid_event("delivered", "msg1", key="k1", timestamp=at, response="250 OK"),
        sendgrid_event("open", "msg1", key="k1", timestamp=at),
        sendgrid_event("click", "msg1", key="k1", timestamp=at, url="https://acme.test/welcome?token=secret"),
        sendgrid_event(
            "bounce", "msg2", key="k2", email="gone@example.test", type="bounce", status="5.1.1", reason="550 no user"
        ),
        sendgrid_event("bounce", "msg3", key="k3", type="blocked", status="5.7.1", reason="554 blocked"),
        sendgrid_event("dropped", "msg4", key="k4", reason="Bounced Address"),
        sendgrid_event("spamreport", "msg5", key="k5"),
        sendgrid_event("group_unsubscribe", "msg5", key="k5", asm_group_id=1),
    ]
    webhook = signer.webhook(events)

    assert parser.verify(webhook)
    delivered, opened, clicked, hard, blocked, dropped, complaint = parser.parse(webhook)

    assert delivered.kind == "delivered"
    assert delivered.provider_message_id == "msg1"
    assert delivered.idempotency_key == "k1"
    assert delivered.address == RECIPIENT
    assert delivered.occurred_at == datetime.fromtimestamp(at, UTC)
    assert (opened.kind, clicked.kind) == ("opened", "clicked")
    assert clicked.detail is not None and "token" not in clicked.detail
    assert (hard.kind, hard.permanent, hard.address) == ("bounced", True, "gone@example.test")
    assert hard.detail == "bounce (bounce): 5.1.1 550 no user"
    assert (blocked.kind, blocked.permanent) == ("bounced", False)
    assert (dropped.kind, dropped.permanent, dropped.detail) == ("failed", False, "dropped: Bounced Address")
    assert (complaint.kind, complaint.idempotency_key) == ("complained", "k5")


def test_bounce_reasons_lose_their_addresses(signer: EventSigner, parser: SendGridFeedback) -> None:
    reason = "550 5.1.1 <gone@example.test>: Recipient address rejected"
    [bounce] = parser.parse(signer.webhook([sendgrid_event("bounce", "m", type="bounce", reason=reason)]))

    assert bounce.detail is not None
    assert "gone@example.test" not in bounce.detail
    assert "Recipient address rejected" in bounce.detail
    assert bounce.idempotency_key is None  # not one of ours: still parsed (the address is still bad)


def test_tampered_body_fails(signer: EventSigner, parser: SendGridFeedback) -> None:
    webhook = signer.webhook([sendgrid_event("delivered", "msg1", key="k1")])
    tampered = replace(webhook, body=webhook.body.replace(b"delivered", b"spamreport"))

    assert parser.verify(webhook)
    assert not parser.verify(tampered)


def test_another_key_fails(signer: EventSigner) -> None:
    webhook = signer.webhook([sendgrid_event("delivered", "msg1")])

    assert not SendGridFeedback(EventSigner().public_key).verify(webhook)


def test_stale_or_future_timestamps_fail(signer: EventSigner) -> None:
    parser = SendGridFeedback(signer.public_key, tolerance_seconds=600)
    events = [sendgrid_event("delivered", "msg1")]
    now = int(time.time())

    assert parser.verify(signer.webhook(events, timestamp=now - 590))
    assert not parser.verify(signer.webhook(events, timestamp=now - 700))
    assert not parser.verify(signer.webhook(events, timestamp=now + 700))


@pytest.mark.parametrize("dropped", [SIGNATURE_HEADER, TIMESTAMP_HEADER])
def test_missing_headers_fail(signer: EventSigner, parser: SendGridFeedback, dropped: str) -> None:
    webhook = signer.webhook([sendgrid_event("delivered", "msg1")])
    headers = {name: value for name, value in webhook.headers.items() if name != dropped}

    assert parser.verify(webhook)
    assert not parser.verify(replace(webhook, headers=headers))


def test_garbled_headers_fail(signer: EventSigner, parser: SendGridFeedback) -> None:
    webhook = signer.webhook([sendgrid_event("delivered", "msg1")])

    assert not parser.verify(replace(webhook, headers={**webhook.headers, SIGNATURE_HEADER: "not base64!"}))
    assert not parser.verify(replace(webhook, headers={**webhook.headers, TIMESTAMP_HEADER: "yesterday"}))


def test_no_key_configured_fails(signer: EventSigner) -> None:
    assert not SendGridFeedback(None).verify(signer.webhook([sendgrid_event("delivered", "msg1")]))


def test_a_key_that_is_not_ecdsa_is_refused() -> None:
    with pytest.raises(ValueError, match="public key"):
        SendGridFeedback("bm90IGEga2V5")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"event": "delivered"}',
        b'["delivered"]',
        b'[{"email": "ada@example.test"}]',
        b'[{"event": "delivered", "timestamp": "yesterday"}]',
        b'[{"event": "delivered", "sg_message_id": 42}]',
    ],
)
def test_malformed_batches_raise(parser: SendGridFeedback, body: bytes) -> None:
    with pytest.raises(ValueError):
        parser.parse(InboundWebhook(url="https://overture.test/v1/webhooks/sendgrid", headers={}, body=body))
