"""The HTTP API's request and response bodies. Responses that show a stored row share its
fields with the table (activities/store/tables.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from activities.sending.local_time import check_timezone
from activities.store.tables import CustomerFields, DeliveryFields, InboxMessageFields, SubscriptionFields
from workflows.channels import CHANNEL_NAMES
from workflows.spec import JourneySpec

CUSTOMER_ID = Field(
    min_length=1, max_length=200, pattern=r"^[^/\s]+$", description="The product's own id (no '/' or spaces)."
)
EVENT_NAME = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$", description="e.g. signed_up")
LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


class CustomerIn(BaseModel):
    """Profile fields to set; fields left out keep their value, `attributes` merge key by key."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = None
    phone: str | None = Field(default=None, description="E.164, e.g. +4915123456789")
    timezone: str | None = Field(default=None, description="IANA zone, e.g. Europe/Berlin")
    locale: str | None = Field(default=None, description="e.g. de-AT")
    push_tokens: list[str] | None = None
    attributes: dict[str, Any] | None = None

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException as error:
            raise ValueError(f"not a phone number in E.164 form (+<country><number>): {error}") from error
        if not phonenumbers.is_valid_number(number):
            raise ValueError("not a valid phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @field_validator("locale")
    @classmethod
    def _locale_tag(cls, value: str | None) -> str | None:
        if value is not None and not LOCALE.match(value):
            raise ValueError("not a locale tag such as 'de' or 'de-AT'")
        return value


class CustomerOut(CustomerFields):
    """A stored profile."""


class EventIn(BaseModel):
    """Something a customer did, sent by a product system."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str = CUSTOMER_ID
    name: str = EVENT_NAME
    properties: dict[str, Any] = Field(default_factory=dict)
    occurred_at: datetime | None = Field(default=None, description="When it happened; no zone means UTC.")
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("occurred_at")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


RoutingState = Literal["routed", "pending", "refused"]
"""`pending`: stored, and routed in the background once Temporal answers; `refused`: Temporal
refused it for good (e.g. too large), so no journey will hear it."""


class EventAccepted(BaseModel):
    """The stored event's id and the journeys it started or reached.

    `routing` is `pending` when Temporal did not answer in time: the event is stored and the
    relay routes it as soon as Temporal is back (`started`/`signalled` are then empty here).
    """

    event_id: str
    started: list[str]
    signalled: list[str]
    routing: RoutingState = "routed"


class ErrorOut(BaseModel):
    """An error answer: what is wrong, and how to put it right."""

    detail: str


class EntryIn(BaseModel):
    """Enter a customer into a journey directly."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str = CUSTOMER_ID
    data: dict[str, Any] = Field(default_factory=dict)
    key: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^/\s]+$")


class EntryCreated(BaseModel):
    """The started journey's workflow id (search it in the Temporal UI)."""

    workflow_id: str


class DeliveryOut(DeliveryFields):
    """One message a journey sent, skipped or failed to send."""


class SubscriptionIn(BaseModel):
    """A customer's choice for one topic, on one channel or (channel left out) on all."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["subscribed", "unsubscribed"]
    channel: str | None = Field(default=None, description=f"One of {', '.join(CHANNEL_NAMES)}; none = every channel.")

    @field_validator("channel")
    @classmethod
    def _known_channel(cls, value: str | None) -> str | None:
        if value is not None and value not in CHANNEL_NAMES:
            raise ValueError(f"unknown channel {value!r}; one of {', '.join(CHANNEL_NAMES)}")
        return value


class SubscriptionOut(SubscriptionFields):
    """A stored choice; `channel` "*" means every channel."""


class InboxMessageOut(InboxMessageFields):
    """A message in the customer's in-app inbox."""

    id: int


class FeedbackAccepted(BaseModel):
    """What a provider's delivery callback changed."""

    matched: int = Field(description="Reports that found their delivery.")
    unmatched: int = Field(description="Reports for messages Overture does not know (ignored).")
    suppressed: int = Field(description="Addresses suppressed (hard bounce, complaint).")


class CustomerDetail(CustomerOut):
    """A profile with its subscription choices, running journeys and latest messages."""

    subscriptions: list[SubscriptionOut]
    active_journeys: list[str]
    messages: list[DeliveryOut]


class JourneyOut(BaseModel):
    """A registered journey as the router sees it."""

    name: str
    trigger: str | None
    events: list[str]
    exit_on: list[str]
    goal: list[str]
    reentry: str
    key: str | None
    quiet_hours: str | None

    @classmethod
    def of(cls, spec: JourneySpec) -> JourneyOut:
        """The journey's declaration as the API shows it."""
        return cls(
            name=spec.name,
            trigger=spec.trigger,
            events=sorted(spec.events),
            exit_on=sorted(spec.exit_on),
            goal=sorted(spec.goal),
            reentry=spec.reentry,
            key=spec.key,
            quiet_hours=f"{spec.quiet_hours.start}-{spec.quiet_hours.end}" if spec.quiet_hours else None,
        )
