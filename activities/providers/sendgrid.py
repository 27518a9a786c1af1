"""SendGrid: email through the v3 Mail Send API, and its signed Event Webhook.

A message is one `POST /v3/mail/send` (JSON, `Authorization: Bearer <api key>`); SendGrid answers
202 with the message's id in `X-Message-Id`. SendGrid has no idempotency key, so a call whose
answer was lost may have sent the message (activities/messaging.py then records the send as
`uncertain` rather than risk a duplicate, unless it is transactional). Email addresses are personal
data: they never appear in an error reason, and SendGrid's own error messages are redacted first.

Our idempotency key and customer id travel as `custom_args`, which SendGrid echoes on every event,
so the events posted to `POST /v1/webhooks/sendgrid` find their delivery even before the receipt
was stored. `SendGridFeedback` checks the events' ECDSA signature ("Signed Event Webhook") and
turns them into DeliveryFeedback.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from activities.providers import http
from activities.providers.base import (
    OutgoingMessage,
    PermanentProviderError,
    Receipt,
    TransientProviderError,
)
from activities.providers.feedback import DeliveryFeedback, FeedbackKind, InboundWebhook
from activities.providers.settings import SendGridSettings
from activities.sending.personal_data import redact_email_addresses

SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"
# Custom args (echoed top-level on every event) that tie SendGrid's events to our deliveries.
KEY_ARG = "overture_key"
CUSTOMER_ARG = "overture_customer"

# Headers SendGrid sets itself and refuses in `headers` (https://www.twilio.com/docs/sendgrid/api-reference/mail-send).
_RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "received",
        "dkim-signature",
        "x-sg-id",
        "x-sg-eid",
    }
)
_DETAIL_LIMIT = 200
# Event -> feedback kind; events not listed (processed, deferred, unsubscribes, ...) carry none.
_KINDS: dict[str, FeedbackKind] = {
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "dropped": "failed",
    "spamreport": "complained",
}


class SendGridProvider:
    """Sends email through SendGrid's v3 Mail Send API."""

    name = "sendgrid"
    channels = frozenset({"email"})
    honours_idempotency_key = False

    def __init__(self, settings: SendGridSettings) -> None:
        self._settings = settings
        self._url = f"{settings.base_url.rstrip('/')}/v3/mail/send"
        sender_name, sender_address = email.utils.parseaddr(settings.from_address)
        self._sender = {"email": sender_address, **({"name": sender_name} if sender_name else {})}
        self._client = http.http_client(headers={"Authorization": f"Bearer {settings.api_key.get_secret_value()}"})
        if settings.timeout_seconds is not None:
            self._client.timeout = httpx.Timeout(settings.timeout_seconds)

    async def send(self, message: OutgoingMessage) -> Receipt:
        """Hand the message to SendGrid; its `X-Message-Id` is the receipt."""
        payload = self.payload(message)
        response = await http.post(self._client, self.name, self._url, json=payload)
        try:
            http.check(response, self.name, lambda answer: _explain(answer, message.recipient))
        except TransientProviderError as error:
            if error.retry_after is None:
                error.retry_after = rate_limit_reset(response)
            raise
        message_id = response.headers.get("x-message-id")
        if not message_id:
            raise TransientProviderError("sendgrid accepted without an X-Message-Id", maybe_delivered=True)
        return Receipt(provider_message_id=message_id)

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        """The Mail Send body for one message: recipient with our custom args, sender, subject,
        text (and HTML) content, extra headers, and the topic as category."""
        if message.channel not in self.channels:
            raise PermanentProviderError(f"sendgrid does not deliver {message.channel!r} messages")
        if not message.content.subject:
            raise PermanentProviderError("sendgrid needs a subject, and the message has none")
        content = [{"type": "text/plain", "value": message.content.text}]
        if message.content.html:
            content.append({"type": "text/html", "value": message.content.html})
        personalization = {
            "to": [{"email": message.recipient}],
            "custom_args": {KEY_ARG: message.idempotency_key, CUSTOMER_ARG: message.customer_id},
        }
        payload: dict[str, Any] = {
            "personalizations": [personalization],
            "from": self._sender,
            "subject": message.content.subject,
            "content": content,
        }
        headers = {name: value for name, value in message.headers.items() if name.lower() not in _RESERVED_HEADERS}
        if headers:
            payload["headers"] = headers
        if message.topic:
            payload["categories"] = [message.topic]
        return payload

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def rate_limit_reset(response: httpx.Response, now: float | None = None) -> timedelta | None:
    """The wait until `X-RateLimit-Reset` (epoch seconds), capped like Retry-After; None without one."""
    value = response.headers.get("x-ratelimit-reset")
    try:
        reset = float(value) if value else None
    except ValueError:
        return None
    if reset is None:
        return None
    delay = timedelta(seconds=reset - (time.time() if now is None else now))
    return max(timedelta(), min(delay, http.MAX_RETRY_AFTER))


def _explain(response: httpx.Response, recipient: str) -> str:
    """SendGrid's error messages (and the fields they concern), with email addresses redacted."""
    try:
        errors = response.json()["errors"]
        text = "; ".join(
            f"{error['message']} (field {error['field']})" if error.get("field") else str(error["message"])
            for error in errors
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        text = ""
    text = text or response.text.strip()[:500] or response.reason_phrase
    return redact_addresses(text, recipient)


def redact_addresses(text: str, recipient: str | None = None) -> str:
    """`text` without the recipient's address, or anything else that looks like an email address."""
    return redact_email_addresses(text, recipient)


class SendGridFeedback:
    """Reads SendGrid's Event Webhook batches, signed with SendGrid's ECDSA key.

    delivered -> delivered; open -> opened; click -> clicked; bounce -> bounced (permanent unless
    SendGrid only reports it `blocked`, i.e. refused for reputation or content rather than a bad
    address); dropped -> failed; spamreport -> complained. processed, deferred and the rest carry
    no feedback.
    """

    provider = "sendgrid"
    channel = "email"

    def __init__(self, public_key: str | None, tolerance_seconds: int = 600) -> None:
        self._key = _load_public_key(public_key) if public_key else None
        self._tolerance = tolerance_seconds

    @classmethod
    def configured(cls, settings: SendGridSettings) -> SendGridFeedback:
        """The parser for the Event Webhook key of the SendGrid section."""
        return cls(settings.webhook_public_key, settings.webhook_tolerance_seconds)

    def verify(self, webhook: InboundWebhook, now: float | None = None) -> bool:
        """True if the signature covers the timestamp and body, made with SendGrid's key, and the
        timestamp is within the tolerance (so an old request cannot be replayed)."""
        signature, timestamp = webhook.headers.get(SIGNATURE_HEADER), webhook.headers.get(TIMESTAMP_HEADER)
        if self._key is None or not signature or not timestamp:
            return False
        try:
            moment = int(timestamp)
            decoded = base64.b64decode(signature, validate=True)
        except (ValueError, binascii.Error):
            return False
        if abs((time.time() if now is None else now) - moment) > self._tolerance:
            return False
        try:
            self._key.verify(decoded, timestamp.encode() + webhook.body, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True

    def parse(self, webhook: InboundWebhook) -> list[DeliveryFeedback]:
        """The feedback a batch of events carries (none for events that report nothing)."""
        try:
            events = json.loads(webhook.body)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply for a SendGrid event batch") from None
        if not isinstance(events, list):
            raise ValueError("a SendGrid event batch is a JSON array")
        return [feedback for event in events if (feedback := _feedback(event)) is not None]


def _feedback(event: object) -> DeliveryFeedback | None:
    """The feedback one event carries; ValueError if it is not an event."""
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        raise ValueError("a SendGrid event is an object with an 'event' name")
    name: str = event["event"]
    kind = _KINDS.get(name)
    if kind is None:
        return None
    message_id = _text(event, "sg_message_id")
    bounce_type = _text(event, "type")
    return DeliveryFeedback(
        kind=kind,
        provider_message_id=message_id.split(".", 1)[0] if message_id else None,
        idempotency_key=_text(event, KEY_ARG),
        address=_text(event, "email"),
        permanent=name == "bounce" and bounce_type != "blocked",
        occurred_at=_moment(event.get("timestamp")),
        detail=_detail(name, bounce_type, _text(event, "status"), _text(event, "reason")),
    )


def _text(event: dict[str, Any], field: str) -> str | None:
    """A string field of an event, None when absent or empty; ValueError when not a string."""
    value = event.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"the event's {field!r} is not a string")
    if not value.isascii() and _has_surrogate(value):
        raise ValueError(f"the event's {field!r} is not valid Unicode text")
    return value


def _has_surrogate(text: str) -> bool:
    """True if `text` holds a lone surrogate (from a JSON `\\ud800` escape): not UTF-8 encodable."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _moment(value: object) -> datetime | None:
    """An event's epoch-seconds timestamp as a UTC datetime."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("the event's 'timestamp' is not a number")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError) as error:
        raise ValueError("the event's 'timestamp' is out of range") from error


def _detail(name: str, bounce_type: str | None, status: str | None, reason: str | None) -> str:
    """A short account of the event: its name, bounce type, SMTP status and reason (addresses
    redacted; never a clicked URL, which may carry tokens)."""
    head = f"{name} ({bounce_type})" if bounce_type else name
    tail = " ".join(part for part in (status, reason) if part)
    text = redact_addresses(f"{head}: {tail}" if tail else head)
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


def _load_public_key(encoded: str) -> ec.EllipticCurvePublicKey:
    """SendGrid's verification key from its base64 DER form; ValueError if it is not an EC key."""
    try:
        key = load_der_public_key(base64.b64decode(encoded.strip(), validate=True))
    except (ValueError, binascii.Error) as error:
        raise ValueError("OVERTURE_SENDGRID_WEBHOOK_PUBLIC_KEY is not a base64 DER public key") from error
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("OVERTURE_SENDGRID_WEBHOOK_PUBLIC_KEY is not an ECDSA public key")
    return key
