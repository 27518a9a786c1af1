"""Consent rules of sending: transactional messages need no consent, every other message
carries a signed, expiring one-click unsubscribe token.

Transactional messages still respect suppressions (activities/store/suppressions.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TRANSACTIONAL = "transactional"
TOKEN_LIFETIME = timedelta(days=180)


class InvalidToken(ValueError):
    """An unsubscribe token that was forged, altered, malformed or is too old."""


@dataclass(frozen=True)
class UnsubscribeClaim:
    """What a valid unsubscribe token allows: this customer leaves this topic (on this channel)."""

    customer_id: str
    topic: str
    channel: str | None
    expires_at: datetime


class UnsubscribeTokens:
    """HMAC-SHA256-signed, expiring tokens for the links in marketing messages."""

    def __init__(self, secret: bytes, lifetime: timedelta = TOKEN_LIFETIME) -> None:
        if len(secret) < 16:
            raise ValueError("the signing secret must be at least 16 bytes")
        self._secret = secret
        self._lifetime = lifetime

    def sign(self, customer_id: str, topic: str, channel: str | None, now: datetime | None = None) -> str:
        """A token for one customer, topic and channel, valid for the configured lifetime."""
        expires = (now or datetime.now(UTC)) + self._lifetime
        claims = {"c": customer_id, "t": topic, "ch": channel, "exp": int(expires.timestamp())}
        payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{self._signature(payload)}"

    def verify(self, token: str, now: datetime | None = None) -> UnsubscribeClaim:
        """The claim a token carries; InvalidToken unless it is authentic and unexpired."""
        payload, dot, signature = token.partition(".")
        if not dot or not payload or not signature or not token.isascii():
            raise InvalidToken("malformed token")  # tokens are base64url: non-ASCII cannot be one
        if not hmac.compare_digest(signature, self._signature(payload)):
            raise InvalidToken("bad signature")
        try:
            claims = json.loads(_unb64(payload))
            claim = UnsubscribeClaim(
                customer_id=str(claims["c"]),
                topic=str(claims["t"]),
                channel=claims.get("ch"),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            )
        except (ValueError, KeyError, TypeError, OverflowError, OSError) as error:
            raise InvalidToken("malformed token") from error
        if claim.expires_at <= (now or datetime.now(UTC)):
            raise InvalidToken("expired token")
        return claim

    def _signature(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
