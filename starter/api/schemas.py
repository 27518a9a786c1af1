"""The HTTP API's request and response bodies. Responses that show a stored row share its
fields with the table (activities/store/tables.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

import phonenumbers
from pydantic import BaseModel, EmailStr, Field, field_validator

from activities.sending.local_time import check_timezone
from activities.store.tables import CustomerFields, DeliveryFields, InboxMessageFields, SubscriptionFields
from starter.api.identifiers import CustomerId, EntryKey, EventName, IdempotencyKey, PushToken
from starter.api.json_input import InputModel
from workflows.channels import CHANNEL_NAMES
from workflows.spec import JourneySpec

CUSTOMER_ID = Field(description="The product's own id: 1-200 printable characters, no '/', spaces, '\\' or '\"'.")
EVENT_NAME = Field(description="e.g. signed_up: 1-100 ASCII letters, digits, '_', '.', ':' or '-'.")
LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
MAX_PUSH_TOKENS = 100
EARLIEST_EVENT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_EVENT = datetime(2200, 1, 1, tzinfo=UTC)
EVENT_RANGE = f"from {EARLIEST_EVENT.isoformat()} to before {LATEST_EVENT.isoformat()}"


class CustomerIn(InputModel):
    """Profile fields to set; fields left out keep their value, `attributes` merge key by key.

    `null` clears a field: `email`, `phone`, `timezone` and `locale` become unset, `push_tokens`
    empty, `attributes` empty; a `null` attribute value removes that key.
    """

    email: EmailStr | None = None
    phone: str | None = Field(default=None, description="E.164, e.g. +4915123456789; null clears it")
    timezone: str | None = Field(default=None, description="IANA zone, e.g. Europe/Berlin; null clears it")
    locale: str | None = Field(default=None, description="e.g. de-AT; null clears it")
    push_tokens: list[PushToken] | None = Field(
        default=None, max_length=MAX_PUSH_TOKENS, description="The app's push tokens (replaced); null clears them"
    )
    attributes: dict[str, Any] | None = Field(
        default=None, description="Merged key by key; a null value removes its key, null removes them all"
    )

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


class EventIn(InputModel):
    """Something a customer did, sent by a product system."""

    customer_id: CustomerId = CUSTOMER_ID
    name: EventName = EVENT_NAME
    properties: dict[str, Any] = Field(default_factory=dict)
    occurred_at: datetime | None = Field(
        default=None, description=f"When it happened ({EVENT_RANGE}); no zone means UTC."
    )
    idempotency_key: IdempotencyKey | None = Field(default=None, description="1-200 printable characters.")

    @field_validator("occurred_at")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:
            moment = None  # the offset pushes it past year 1 or 9999
        if moment is None or not EARLIEST_EVENT <= moment < LATEST_EVENT:
            raise ValueError(f"occurred_at must be {EVENT_RANGE}")
        return moment


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


class EntryIn(InputModel):
    """Enter a customer into a journey directly."""

    customer_id: CustomerId = CUSTOMER_ID
    data: dict[str, Any] = Field(default_factory=dict)
    key: EntryKey | None = Field(default=None, description="1-200 printable characters, no '/' or spaces.")


class EntryCreated(BaseModel):
    """The started journey's workflow id (search it in the Temporal UI)."""

    workflow_id: str


class DeliveryOut(DeliveryFields):
    """One message a journey sent, skipped or failed to send."""


class SubscriptionIn(InputModel):
    """A customer's choice for one topic, on one channel or (channel left out) on all."""

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
    active_journeys: list[str] | None = Field(
        description="Ids of the customer's running journeys; null when Temporal did not answer "
        "(then `active_journeys_unavailable` says why)."
    )
    active_journeys_unavailable: str | None = Field(
        default=None,
        description="Set when the running journeys could not be listed (Temporal down or slower than "
        "OVERTURE_DEPENDENCY_TIMEOUT), e.g. `Temporal did not answer within 2 s`; the rest of the "
        "profile is complete.",
    )
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
