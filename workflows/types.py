"""Data that crosses the workflow boundary: journey input, events, send requests and outcomes.

These are plain dataclasses so Temporal's default JSON converter carries them and the workflow
sandbox can import them without restrictions. Adding a field with a default is a compatible
change; renaming or removing one breaks running journeys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from workflows.timing import QuietHours

OutcomeStatus = Literal["completed", "exited", "converted", "failed_to_reach"]
SendStatus = Literal["sent", "skipped", "failed", "deferred"]


@dataclass(frozen=True)
class JourneyEvent:
    """Something the customer did, as delivered to a journey by the `event` signal.

    `id` is the event's row id in the `events` table; journeys ignore an id they have seen, so
    the router may deliver an event more than once.
    """

    id: str
    name: str
    properties: dict[str, Any] = field(default_factory=dict)
    occurred_at: str | None = None


@dataclass(frozen=True)
class Carried:
    """The journey's own bookkeeping, handed from one run to the next by continue-as-new."""

    seen_event_ids: list[str] = field(default_factory=list)
    inbox: list[JourneyEvent] = field(default_factory=list)
    variants: dict[str, str] = field(default_factory=dict)
    sends_attempted: int = 0
    sends_delivered: int = 0
    runs: int = 1


@dataclass(frozen=True)
class Entry:
    """Why and for whom a journey run started: the journey workflow's only argument.

    `event` is the trigger event when an event started the journey, None when it was entered
    through the API; `data` carries the API caller's extra fields. After a continue-as-new,
    `state` is what the journey passed on and `carried` the base class's bookkeeping.
    """

    customer_id: str
    event: JourneyEvent | None = None
    data: dict[str, Any] = field(default_factory=dict)
    key: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    carried: Carried | None = None


@dataclass(frozen=True)
class Outcome:
    """How a journey ended. A journey always completes with an Outcome, never a Temporal failure.

    - completed: the journey ran to its end and reached the customer at least once (or sent nothing);
    - exited: an `exit_on` event or an operator's `exit` signal stopped it;
    - converted: a `goal` event arrived;
    - failed_to_reach: it ran to its end but every send it attempted was skipped or failed.
    """

    status: OutcomeStatus
    step: str
    reason: str | None = None
    event: JourneyEvent | None = None
    variant: str | None = None


@dataclass(frozen=True)
class SendRequest:
    """What the journey asks the `send_message` activity to deliver.

    `idempotency_key` is fixed by the workflow (run and step), so every retry of the activity
    refers to the same delivery row and a message is never sent twice.
    """

    idempotency_key: str
    customer_id: str
    journey: str
    step: str
    channel: str
    template: str
    topic: str
    variant: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    now: str | None = None
    quiet_hours: QuietHours | None = None
    holdout: bool = False


@dataclass(frozen=True)
class SendResult:
    """What happened to one send: sent, skipped (with a reason the journey can act on), failed,
    or deferred until `not_before` (quiet hours; the journey waits and sends again)."""

    status: SendStatus
    channel: str
    idempotency_key: str
    provider: str | None = None
    provider_message_id: str | None = None
    reason: str | None = None
    not_before: str | None = None

    @property
    def delivered(self) -> bool:
        """True when a provider accepted the message."""
        return self.status == "sent"


@dataclass(frozen=True)
class JourneyState:
    """A journey's state as the `state` query returns it to operators and tools."""

    journey: str
    customer_id: str
    step: str
    waiting_for: list[str]
    sends: list[SendResult]
    outcome: Outcome | None


@dataclass(frozen=True)
class Profile:
    """What a journey may branch on. Contact details stay out of workflow history: only
    whether the customer can be reached on a channel."""

    customer_id: str
    exists: bool
    timezone: str
    locale: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    has_email: bool = False
    has_phone: bool = False
    has_push: bool = False


@dataclass(frozen=True)
class LocalTimeRequest:
    """The next `at` (HH:MM, on `weekday` 0=Mon if given) in the customer's zone after `after`."""

    customer_id: str
    after: str
    at: str
    weekday: int | None = None


@dataclass(frozen=True)
class LocalTimeResult:
    """The resolved instant (UTC, ISO) and the zone it was computed in."""

    at: str
    timezone: str


@dataclass(frozen=True)
class EntryRecord:
    """A journey run's entry-ledger row, written by the run itself as its first step."""

    journey: str
    customer_id: str
    key: str | None
    workflow_id: str
    run_id: str
    trigger_event_id: str | None


@dataclass(frozen=True)
class ConversionRequest:
    """A goal reached: recorded once per journey run (`key`)."""

    key: str
    journey: str
    customer_id: str
    workflow_id: str
    goal: str
    step: str
    variant: str | None
    occurred_at: str
