"""A fake SendGrid v3 Mail Send API (ASGI), answering the way SendGrid does: Bearer auth, JSON
errors `{"errors": [{"message", "field", "help"}]}`, 202 with `X-Message-Id`; with knobs for rate
limits, outages and hangs. Plus `EventSigner`, which signs Event Webhook batches the way SendGrid's
"Signed Event Webhook" does, with a key of its own."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activities.providers.feedback import InboundWebhook
from activities.providers.sendgrid import SIGNATURE_HEADER, TIMESTAMP_HEADER

EMAIL = re.compile(r"[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+")
HANG_LIMIT_SECONDS = 30.0
WEBHOOK_URL = "https://overture.test/v1/webhooks/sendgrid"

Misbehaviour = Literal["429", "500", "503", "hang"]


def sendgrid_error(
    status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error the way SendGrid writes one."""
    return JSONResponse({"errors": [{"message": message, "field": field, "help": None}]}, status, headers=headers)


@dataclass(frozen=True)
class AcceptedMail:
    """One message the fake accepted: the id it answered with, and the JSON body as sent."""

    message_id: str
    body: dict[str, Any]


@dataclass
class FakeSendGrid:
    """One SendGrid account. `messages` holds every message it accepted.

    A 429 carries `Retry-After: retry_after` (unless that is None) and always `X-RateLimit-Reset`,
    `rate_limit_reset_in` seconds ahead, as SendGrid's rate limiter does.
    """

    api_key: str = "SG.test-key.secret"
    messages: list[AcceptedMail] = field(default_factory=list)
    retry_after: str | None = "3"
    rate_limit_reset_in: int = 42
    _planned: deque[Misbehaviour] = field(default_factory=deque)

    def misbehave(self, how: Misbehaviour, times: int = 1) -> None:
        """Answer the next `times` requests with 429, 500, 503, or not at all (the message is
        accepted, then the answer never comes while the client waits)."""
        self._planned.extend([how] * times)

    @property
    def app(self) -> Starlette:
        """The ASGI app to serve."""
        return Starlette(routes=[Route("/v3/mail/send", self._send, methods=["POST"])])

    async def _send(self, request: Request) -> Response:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(key.encode(), self.api_key.encode()):
            return sendgrid_error(401, "The provided authorization grant is invalid, expired, or revoked")
        how = self._planned.popleft() if self._planned else None
        if how == "429":
            return sendgrid_error(429, "too many requests", headers=self._rate_limit_headers())
        if how in ("500", "503"):
            return sendgrid_error(int(how), "Internal server error" if how == "500" else "Service unavailable")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return sendgrid_error(400, "Bad Request", None)
        problem = _invalid(body)
        if problem is not None:
            return sendgrid_error(400, *problem)
        message_id = secrets.token_urlsafe(16)[:22]
        self.messages.append(AcceptedMail(message_id, body))
        if how == "hang":
            await _until_disconnected(request)
        return Response(status_code=202, headers={"X-Message-Id": message_id})

    def _rate_limit_headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": "600",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(time.time()) + self.rate_limit_reset_in),
        }
        if self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        return headers


def _invalid(body: object) -> tuple[str, str] | None:
    """SendGrid's (message, field) for the first thing wrong with a Mail Send body, or None.
    Unlike the real SendGrid, the recipient's message echoes the address, so that tests notice
    when a provider lets it into an error reason."""
    if not isinstance(body, dict):
        return "Bad Request", "body"
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        return "The personalizations field is required and must have at least one personalization.", "personalizations"
    to = personalizations[0].get("to") if isinstance(personalizations[0], dict) else None
    if not isinstance(to, list) or not to or not isinstance(to[0], dict):
        return "The to array is required for all personalization objects.", "personalizations.0.to"
    address = to[0].get("email")
    if not isinstance(address, str) or not EMAIL.fullmatch(address):
        return f"The email address {address} does not contain a valid address.", "personalizations.0.to"
    sender = body.get("from")
    if not isinstance(sender, dict) or not EMAIL.fullmatch(str(sender.get("email", ""))):
        return "The from object must be provided for every email send.", "from"
    if not body.get("subject"):
        return "The subject is required.", "subject"
    content = body.get("content")
    if not isinstance(content, list) or not content or content[0].get("type") != "text/plain":
        return "The content value must be a string at least one character in length.", "content.0.value"
    return None


async def _until_disconnected(request: Request) -> None:
    """Wait until the client gives up (or HANG_LIMIT_SECONDS pass, so the server can stop)."""
    deadline = asyncio.get_running_loop().time() + HANG_LIMIT_SECONDS
    while not await request.is_disconnected() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)


@dataclass
class EventSigner:
    """Signs Event Webhook batches like SendGrid: ECDSA P-256 / SHA-256 over the timestamp
    followed by the raw body, base64 DER signature; `public_key` is what SendGrid shows."""

    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def public_key(self) -> str:
        """The base64 DER (SubjectPublicKeyInfo) verification key."""
        der = self.private_key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The signature and timestamp headers (lower-case names) for `body`, signed now or at `timestamp`."""
        moment = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.private_key.sign(moment.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {SIGNATURE_HEADER: base64.b64encode(signature).decode(), TIMESTAMP_HEADER: moment}

    def webhook(self, events: list[dict[str, Any]], timestamp: int | None = None) -> InboundWebhook:
        """A signed Event Webhook request carrying `events`."""
        body = json.dumps(events).encode()
        return InboundWebhook(url=WEBHOOK_URL, headers=self.headers(body, timestamp), body=body)


def sendgrid_event(
    event: str, message_id: str, *, key: str | None = None, email: str = "ada@example.test", **fields: Any
) -> dict[str, Any]:
    """One event as SendGrid posts it: `sg_message_id` is the X-Message-Id plus a filter suffix,
    and our custom args (`overture_key`) appear top-level."""
    body: dict[str, Any] = {
        "email": email,
        "timestamp": int(time.time()),
        "event": event,
        "sg_event_id": secrets.token_urlsafe(16),
        "sg_message_id": f"{message_id}.recvd-5f4b8c7d9-abcde-1-64F2A1B3-7.0",
        "smtp-id": f"<{message_id}@geopod-ismtpd-1>",
        "category": ["welcome"],
        **fields,
    }
    if key is not None:
        body["overture_key"] = key
    return body
