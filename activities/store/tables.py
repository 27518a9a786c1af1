"""The database tables (sqlmodel). SQLite by default, PostgreSQL in production.

Timestamps are stored in UTC and come back zone-aware in UTC from either database (`UtcDateTime`).
Where the API shows a table's row, the table and the API model share a `...Fields` base, so a
column is declared once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationInfo, field_validator
from sqlalchemy import JSON, Column, DateTime, Dialect, Index, String, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

DeliveryStatus = Literal["sending", "sent", "skipped", "failed"]
"""`sending` while a provider is being called; the others are final."""


def utcnow() -> datetime:
    """The current time in UTC, zone-aware."""
    return datetime.now(UTC)


def utc(moment: datetime) -> datetime:
    """`moment` as a zone-aware UTC datetime (SQLite drops the zone on the way back)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def new_id() -> str:
    """A fresh random id for rows the product does not name itself."""
    return uuid.uuid4().hex


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp column that stores UTC and returns zone-aware UTC datetimes: SQLite keeps no
    zone, and PostgreSQL would answer in the session's."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Any aware datetime, as UTC (naive ones are taken to be UTC already)."""
        return None if value is None else utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """The stored moment, zone-aware in UTC."""
        return None if value is None else utc(value)


def _timestamp(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UtcDateTime, **kwargs)


def _moment(**kwargs: Any) -> Any:
    return Field(default=None, sa_type=UtcDateTime, **kwargs)


class CustomerFields(SQLModel):
    """A customer profile as stored and as the API shows it; `id` is the product's own id."""

    id: str = Field(primary_key=True, max_length=200)
    email: str | None = None
    phone: str | None = None
    timezone: str | None = None
    locale: str | None = None
    push_tokens: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()

    @field_validator("push_tokens", "attributes", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any, info: ValidationInfo) -> Any:
        """A JSON `null` in these columns (written by versions that let one through) reads as empty."""
        if value is None:
            return [] if info.field_name == "push_tokens" else {}
        return value


class Customer(CustomerFields, table=True):
    """A customer profile."""

    __tablename__ = "customers"


class Event(SQLModel, table=True):
    """One event in a customer's event log, with the answer its routing produced."""

    __tablename__ = "events"
    # Idempotency keys are the customer's own: another customer's identical key is another event.
    __table_args__ = (Index("ix_events_customer_idempotency_key", "customer_id", "idempotency_key", unique=True),)

    id: str = Field(default_factory=new_id, primary_key=True)
    customer_id: str = Field(index=True, max_length=200)
    name: str = Field(index=True, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    occurred_at: datetime = _timestamp()
    received_at: datetime = _timestamp()
    idempotency_key: str | None = Field(default=None, max_length=200)
    body_hash: str | None = Field(
        default=None, max_length=64, description="SHA-256 of the event as sent with its idempotency key"
    )
    # SQL NULL until routed (none_as_null: a JSON `null` would not be IS NULL).
    started: list[str] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))
    signalled: list[str] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))
    routing_claimed_at: datetime | None = _moment()
    routing_error: str | None = Field(
        default=None, description="Why Temporal refused the event for good (it will not be routed)"
    )

    @property
    def routed(self) -> bool:
        """True once the event reached every journey that cares about it (or was refused for good)."""
        return self.started is not None


class DeliveryFields(SQLModel):
    """One send as the API shows it: sent, skipped (with why) or failed; never two per key.

    `status` is the pipeline's verdict and never changes once settled; what the provider
    reports afterwards lands in `feedback` and the *_at columns.
    """

    idempotency_key: str = Field(unique=True, max_length=400)
    journey: str
    step: str
    channel: str
    template: str
    topic: str
    variant: str | None = None
    provider: str | None = None
    status: DeliveryStatus = Field(index=True, sa_type=String)
    skip_reason: str | None = None
    error: str | None = None
    provider_message_id: str | None = Field(default=None, index=True)
    feedback: str | None = Field(
        default=None, description="The provider's latest news: delivered, opened, clicked, bounced, ..."
    )
    delivered_at: datetime | None = _moment()
    opened_at: datetime | None = _moment()
    clicked_at: datetime | None = _moment()
    bounced_at: datetime | None = _moment()
    complained_at: datetime | None = _moment()
    created_at: datetime = _timestamp(index=True)
    updated_at: datetime = _timestamp()


class Delivery(DeliveryFields, table=True):
    """One send a journey asked for, with the bookkeeping of getting it out exactly once.

    `scheduled_at` is the journey's clock when it asked (frequency caps count on it);
    `call_started_at` is set while a provider is being called.
    """

    __tablename__ = "deliveries"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(index=True, max_length=200)
    attempts: int = 0
    call_started_at: datetime | None = _moment()
    scheduled_at: datetime = _timestamp(index=True)
    feedback_detail: str | None = None


class OutboxMessage(SQLModel, table=True):
    """A fully rendered message the outbox provider kept instead of sending (dev default)."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    delivery_key: str = Field(unique=True, max_length=400)
    customer_id: str = Field(index=True, max_length=200)
    channel: str
    recipient: str
    subject: str | None = None
    text: str
    html: str | None = None
    headers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _timestamp()


class JourneyEntry(SQLModel, table=True):
    """One started journey instance: enforces re-entry `once` beyond Temporal's retention and
    tells the router which instances of a customer to signal.

    The journey run writes its own row as its first step (`run_id` makes the write idempotent),
    so no run exists without its row, whatever crashes after the start.
    """

    __tablename__ = "journey_entries"
    __table_args__ = (Index("ix_journey_entries_run", "workflow_id", "run_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    journey: str = Field(index=True)
    customer_id: str = Field(index=True, max_length=200)
    key: str | None = None
    workflow_id: str = Field(max_length=400)
    run_id: str | None = Field(default=None, max_length=100)
    trigger_event_id: str | None = Field(default=None, index=True)
    closed: bool = False
    entered_at: datetime = _timestamp()


class Conversion(SQLModel, table=True):
    """A goal a journey reached, with the step and experiment variants it happened under."""

    __tablename__ = "conversions"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=400)
    journey: str = Field(index=True)
    customer_id: str = Field(index=True, max_length=200)
    workflow_id: str = Field(max_length=400)
    goal: str
    step: str
    variant: str | None = None
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    recorded_at: datetime = _timestamp()


class SubscriptionFields(SQLModel):
    """A customer's choice for a topic on one channel (`*` = every channel), as the API shows it."""

    topic: str
    channel: str = "*"
    status: str  # subscribed | unsubscribed
    source: str  # api | unsubscribe_link | provider
    updated_at: datetime = _timestamp()


class Subscription(SubscriptionFields, table=True):
    """A customer's choice for a topic on one channel."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("customer_id", "topic", "channel"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(index=True, max_length=200)


class Suppression(SQLModel, table=True):
    """An address nothing may be sent to on a channel (hard bounce, complaint, STOP)."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str
    address: str = Field(index=True, max_length=400)
    reason: str
    created_at: datetime = _timestamp()


class InboxMessageFields(SQLModel):
    """A message in a customer's in-app inbox, as the app reads it."""

    topic: str
    title: str | None = None
    body: str
    html: str | None = None
    read_at: datetime | None = _moment()
    created_at: datetime = _timestamp(index=True)


class InboxMessage(InboxMessageFields, table=True):
    """A message in a customer's in-app inbox."""

    __tablename__ = "inbox_messages"

    id: int | None = Field(default=None, primary_key=True)
    delivery_key: str = Field(unique=True, max_length=400)
    customer_id: str = Field(index=True, max_length=200)


class ApiKeyFields(SQLModel):
    """An API key as `overture keys list` shows it: never the key itself, only its id and scope."""

    id: str = Field(primary_key=True, max_length=40)
    name: str | None = Field(default=None, max_length=200)
    scope: str = Field(max_length=300, description="admin | events:write | inbox:<customer_id>")
    created_at: datetime = _timestamp()
    revoked_at: datetime | None = _moment()


class ApiKey(ApiKeyFields, table=True):
    """An API key, stored as the SHA-256 of the key (the key is shown once, at creation)."""

    __tablename__ = "api_keys"

    key_hash: str = Field(unique=True, max_length=64)
