"""Webhook: a signed JSON POST to the company's own endpoint, per Standard Webhooks.

Each message is one `POST` to `url` with the headers of the Standard Webhooks spec
(https://www.standardwebhooks.com): `webhook-id` (our idempotency key, so the receiver can drop a
repeat), `webhook-timestamp` (unix seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">`, keyed with the base64 part of the `whsec_...` secret). Because the
receiver de-duplicates on `webhook-id`, re-sending a message whose answer was lost is safe.

`sign` and `verify` are public: receivers (and our tests) check requests with them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import SecretStr

from activities.providers import http
from activities.providers.base import OutgoingMessage, PermanentProviderError, Receipt
from activities.providers.settings import WebhookSettings
from activities.providers.settings import webhook_secret_key as secret_key

SIGNATURE_VERSION = "v1"
EVENT_TYPE = "overture.message"
DEFAULT_TOLERANCE = timedelta(minutes=5)


def sign(secret_bytes: bytes, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The `webhook-signature` value for one request: `v1,<base64 HMAC-SHA256>` of
    `{msg_id}.{timestamp}.{body}`, keyed with the decoded secret."""
    raw = body.encode() if isinstance(body, str) else body
    content = f"{msg_id}.{timestamp}.".encode() + raw
    digest = hmac.new(secret_bytes, content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def verify(
    secret: str | SecretStr | bytes,
    headers: Mapping[str, str],
    body: bytes,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    now: datetime | None = None,
) -> bool:
    """True if the request's `webhook-signature` holds a v1 signature made with `secret` (the
    `whsec_...` string, or the decoded key) over its id, timestamp and `body`, and the timestamp
    is within `tolerance` of `now` (so a captured request cannot be replayed later). The header
    may list several space-separated signatures (during a secret rotation); one match is enough.
    A `secret` that is not `whsec_<base64>` is a configuration error: ValueError."""
    key = secret if isinstance(secret, bytes) else secret_key(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not msg_id or not stamp or not signatures or not stamp.isascii() or not stamp.isdigit():
        return False
    moment = now or datetime.now(UTC)
    if abs(moment.timestamp() - int(stamp)) > tolerance.total_seconds():
        return False
    expected = sign(key, msg_id, int(stamp), body).encode()
    found = False
    for candidate in signatures.split():
        # Compare every candidate, so the time taken does not tell which one matched.
        found |= hmac.compare_digest(expected, candidate.encode("utf-8", "replace"))
    return found


class WebhookProvider:
    """POSTs each message, signed per Standard Webhooks, to the company's endpoint."""

    name = "webhook"
    channels = frozenset({"webhook"})
    honours_idempotency_key = True  # webhook-id is the key; receivers de-duplicate on it

    def __init__(self, settings: WebhookSettings) -> None:
        self._settings = settings
        self._key = secret_key(settings.secret)
        self._client = http.http_client()
        if settings.timeout_seconds is not None:
            self._client.timeout = httpx.Timeout(settings.timeout_seconds)

    def payload(self, message: OutgoingMessage, now: datetime | None = None) -> dict[str, object]:
        """The JSON document the endpoint receives for one message."""
        moment = now or datetime.now(UTC)
        return {
            "type": EVENT_TYPE,
            "timestamp": moment.isoformat().replace("+00:00", "Z"),
            "data": {
                "customer_id": message.customer_id,
                "channel": message.channel,
                "topic": message.topic,
                "journey": message.metadata.get("journey"),
                "step": message.metadata.get("step"),
                "template": message.metadata.get("template"),
                "idempotency_key": message.idempotency_key,
                "subject": message.content.subject,
                "text": message.content.text,
                "html": message.content.html,
            },
        }

    def headers(self, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        """The Standard Webhooks headers (and content type) for one request."""
        return {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self._key, msg_id, timestamp, body),
        }

    async def send(self, message: OutgoingMessage) -> Receipt:
        """POST the signed message; the receiver's `id` (if it answers JSON with one) or our
        idempotency key is the receipt."""
        if message.channel not in self.channels:
            raise PermanentProviderError(f"webhook does not deliver {message.channel!r} messages")
        now = datetime.now(UTC)
        body = json.dumps(self.payload(message, now), separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = int(now.timestamp())
        headers = self.headers(message.idempotency_key, timestamp, body)
        response = await http.post(self._client, self.name, self._settings.url, content=body, headers=headers)
        http.check(response, self.name, _explain)
        return Receipt(provider_message_id=_receiver_id(response) or message.idempotency_key)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def _explain(response: httpx.Response) -> str:
    """The receiver's reason; 410 Gone means the endpoint asks us to stop sending for good."""
    text = response.text.strip()[:500] or response.reason_phrase
    if response.status_code == 410:
        return f"the endpoint is gone (410): {text}"
    return text


def _receiver_id(response: httpx.Response) -> str | None:
    """The `id` the receiver gave the message, if it answered with a JSON object holding one."""
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get("id") if isinstance(body, dict) else None
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) else None
