"""Consent: subscription choices per topic and channel, and the signed one-click unsubscribe token.

Transactional messages do not ask for consent (a password reset must arrive), but they still
respect suppressions (see activities/suppressions.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from activities.database import Database
from activities.tables import Subscription, utcnow

SUBSCRIBED, UNSUBSCRIBED = "subscribed", "unsubscribed"
ALL_CHANNELS = "*"
TRANSACTIONAL = "transactional"
TOKEN_LIFETIME = timedelta(days=180)


class SubscriptionStore:
    """Reads and writes `subscriptions`; a customer with no choice gets the topic's default."""

    def __init__(self, database: Database, defaults: Mapping[str, str], fallback: str = SUBSCRIBED) -> None:
        self._database = database
        self._defaults = dict(defaults)
        self._fallback = fallback

    def default(self, topic: str) -> str:
        """The status of a customer who never chose, for `topic`."""
        return self._defaults.get(topic, self._fallback)

    async def status(self, customer_id: str, topic: str, channel: str) -> str:
        """The customer's status for `topic` on `channel`: a channel-specific choice wins over a
        choice for every channel, which wins over the default."""
        async with self._database.session() as session:
            rows = (
                await session.exec(
                    select(Subscription).where(
                        Subscription.customer_id == customer_id,
                        Subscription.topic == topic,
                        col(Subscription.channel).in_([channel, ALL_CHANNELS]),
                    )
                )
            ).all()
        by_channel = {row.channel: row.status for row in rows}
        return by_channel.get(channel) or by_channel.get(ALL_CHANNELS) or self.default(topic)

    async def choose(self, customer_id: str, topic: str, channel: str | None, status: str, source: str) -> Subscription:
        """Record a choice (channel None = every channel), replacing any earlier one."""
        for _ in range(2):  # a concurrent first choice for the same key: the retry updates it
            async with self._database.session() as session:
                key = (Subscription.customer_id == customer_id, Subscription.topic == topic)
                existing = (
                    await session.exec(
                        select(Subscription).where(*key, Subscription.channel == (channel or ALL_CHANNELS))
                    )
                ).first()
                row = existing or Subscription(
                    customer_id=customer_id, topic=topic, channel=channel or ALL_CHANNELS, status=status, source=source
                )
                row.status, row.source, row.updated_at = status, source, utcnow()
                session.add(row)
                try:
                    await session.commit()
                    return row
                except IntegrityError:
                    await session.rollback()
        raise RuntimeError("subscription could not be stored")

    async def for_customer(self, customer_id: str) -> list[Subscription]:
        """Every choice the customer made."""
        async with self._database.session() as session:
            query = (
                select(Subscription).where(Subscription.customer_id == customer_id).order_by(col(Subscription.topic))
            )
            return list((await session.exec(query)).all())


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
        if not dot or not payload or not signature:
            raise InvalidToken("malformed token")
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
        except (ValueError, KeyError, TypeError) as error:
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
