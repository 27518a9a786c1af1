"""Twilio: SMS and WhatsApp through the Programmable Messaging API, and its status callbacks.

A message is one `POST /2010-04-01/Accounts/{sid}/Messages.json` (form-encoded, HTTP basic auth
with the account SID and auth token). Twilio has no idempotency key, so a call whose answer was
lost may have sent the message. Phone numbers are personal data: they never appear in an error
reason, and Twilio's own error messages (which echo the number) are redacted before use.

Status callbacks (`StatusCallback`) arrive on `POST /v1/webhooks/twilio`, signed with the auth
token; `TwilioFeedback` checks the signature and turns them into DeliveryFeedback.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import parse_qsl

import httpx
from pydantic import SecretStr

from activities.providers import http
from activities.providers.base import (
    OutgoingMessage,
    PermanentProviderError,
    Receipt,
    TransientProviderError,
)
from activities.providers.feedback import DeliveryFeedback, FeedbackKind, InboundWebhook
from activities.providers.settings import TwilioSettings

WHATSAPP_PREFIX = "whatsapp:"

# Anything that looks like a phone number: 7 or more digits, maybe with +, spaces, dots, dashes, brackets.
_PHONE_LIKE = re.compile(r"\+?\d(?:[\s().-]*\d){6,}")

# Failure codes that mean the number itself cannot receive messages, so it is worth suppressing
# (https://www.twilio.com/docs/api/errors): 21211 invalid 'To' number, 21614 'To' is not a
# mobile number, 30005 unknown destination (the number does not exist any more), 30006 landline or
# unreachable carrier. 30003 "unreachable handset" is left out: it mostly means the phone is off.
PERMANENT_FAILURE_CODES = frozenset({"21211", "21614", "30005", "30006"})
# The recipient replied STOP: Twilio blocks further messages, and so should we (a complaint).
UNSUBSCRIBED_CODE = "21610"


class TwilioProvider:
    """Sends SMS and WhatsApp messages through Twilio's Messages API."""

    name = "twilio"
    channels = frozenset({"sms", "whatsapp"})
    honours_idempotency_key = False

    def __init__(self, settings: TwilioSettings) -> None:
        self._settings = settings
        self._url = f"{settings.base_url.rstrip('/')}/2010-04-01/Accounts/{settings.account_sid}/Messages.json"
        self._client = http.http_client(auth=(settings.account_sid, settings.auth_token.get_secret_value()))
        if settings.timeout_seconds is not None:
            self._client.timeout = httpx.Timeout(settings.timeout_seconds)

    async def send(self, message: OutgoingMessage) -> Receipt:
        """Create the message at Twilio; its SID (`SM...`) is the receipt."""
        form = self._form(message)
        response = await http.post(self._client, self.name, self._url, data=form)
        http.check(response, self.name, lambda answer: _explain(answer, message.recipient))
        try:
            sid = response.json()["sid"]
        except (ValueError, KeyError, TypeError) as error:
            raise TransientProviderError("twilio accepted without a message sid", maybe_delivered=True) from error
        return Receipt(provider_message_id=str(sid))

    def _form(self, message: OutgoingMessage) -> dict[str, str]:
        """To, From and/or MessagingServiceSid, Body and StatusCallback for one message."""
        settings = self._settings
        if message.channel not in self.channels:
            raise PermanentProviderError(f"twilio does not deliver {message.channel!r} messages")
        to = message.recipient.removeprefix(WHATSAPP_PREFIX)
        form = {"Body": message.content.text}
        if message.channel == "whatsapp":
            form["To"] = WHATSAPP_PREFIX + to
            if settings.whatsapp_from:
                form["From"] = WHATSAPP_PREFIX + settings.whatsapp_from
        else:
            form["To"] = to
            if settings.from_number:
                form["From"] = settings.from_number
        if settings.messaging_service_sid:
            form["MessagingServiceSid"] = settings.messaging_service_sid
        if "From" not in form and "MessagingServiceSid" not in form:
            raise PermanentProviderError(f"twilio has no sender configured for {message.channel}")
        if settings.status_callback_url:
            form["StatusCallback"] = settings.status_callback_url
        return form

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def _explain(response: httpx.Response, recipient: str) -> str:
    """Twilio's error code and message, with the recipient's number (which it echoes) redacted."""
    try:
        body = response.json()
        text = f"error {body['code']}: {body['message']}"
    except (ValueError, KeyError, TypeError):
        text = response.text.strip()[:500] or response.reason_phrase
    return redact_numbers(text, recipient)


def redact_numbers(text: str, recipient: str) -> str:
    """`text` without the recipient's number, or anything else that looks like a phone number."""
    bare = recipient.removeprefix(WHATSAPP_PREFIX).strip()
    if bare:
        text = text.replace(bare, "the recipient")
    return _PHONE_LIKE.sub("[number]", text)


class TwilioFeedback:
    """Reads Twilio's message status callbacks (SMS and WhatsApp), signed with the auth token.

    delivered -> delivered; read (WhatsApp read receipt) -> opened; undelivered / failed ->
    bounced, permanent when the error code says the number cannot receive messages, and a
    complaint when the recipient replied STOP (21610). Interim states (queued, sent, ...) carry no
    feedback. WhatsApp failures are never permanent: the number may still take SMS, and the
    feedback is filed under `sms` (see PERMANENT_FAILURE_CODES).
    """

    provider = "twilio"
    channel = "sms"

    def __init__(self, auth_token: SecretStr) -> None:
        self._key = auth_token.get_secret_value().encode()

    @classmethod
    def configured(cls, settings: TwilioSettings) -> TwilioFeedback:
        """The parser for the auth token of the Twilio section."""
        return cls(settings.auth_token)

    def verify(self, webhook: InboundWebhook) -> bool:
        """True if X-Twilio-Signature matches the URL and form parameters, signed with our token."""
        signature = webhook.headers.get("x-twilio-signature")
        if not signature:
            return False
        try:
            params = _form_pairs(webhook.body)
        except ValueError:
            return False
        expected = twilio_signature(self._key, webhook.url, params)
        return hmac.compare_digest(expected.encode(), signature.encode())

    def parse(self, webhook: InboundWebhook) -> list[DeliveryFeedback]:
        """The feedback one status callback carries (none for interim states)."""
        params = dict(_form_pairs(webhook.body))
        sid, status = params.get("MessageSid"), params.get("MessageStatus")
        if not sid or not status:
            raise ValueError("a Twilio status callback needs MessageSid and MessageStatus")
        to = params.get("To") or None
        whatsapp = to is not None and to.startswith(WHATSAPP_PREFIX)
        address = to.removeprefix(WHATSAPP_PREFIX) if to else None
        code = params.get("ErrorCode") or None
        if code is not None and not code.isdigit():
            raise ValueError("ErrorCode is not a number")
        kind: FeedbackKind
        permanent = False
        if status == "delivered":
            kind = "delivered"
        elif status == "read":
            kind = "opened"
        elif status in ("undelivered", "failed"):
            kind = "complained" if code == UNSUBSCRIBED_CODE and not whatsapp else "bounced"
            permanent = kind == "bounced" and code in PERMANENT_FAILURE_CODES and not whatsapp
        else:
            return []  # queued, accepted, sending, sent, scheduled, canceled, ...
        detail = f"{status} (error {code})" if code else status
        return [
            DeliveryFeedback(kind=kind, provider_message_id=sid, address=address, permanent=permanent, detail=detail)
        ]


def twilio_signature(key: bytes, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's request signature: base64 HMAC-SHA1 of the URL followed by every parameter's name
    and value, sorted by name (then value; a repeated pair counts once, as in Twilio's own SDKs)."""
    payload = url + "".join(name + value for name, value in sorted(set(params)))
    return base64.b64encode(hmac.new(key, payload.encode(), hashlib.sha1).digest()).decode()


def _form_pairs(body: bytes) -> list[tuple[str, str]]:
    """The parameters of a form-encoded body; ValueError if it is not one."""
    if not body:
        return []
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
