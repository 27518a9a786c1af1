"""The names Temporal knows journeys by: their activities, signals, query and workflow ids.

Each is defined once here and used by reference: by the journey base (which schedules the
activities and declares the signals and query), by the activities (`@activity.defn(name=...)`),
by the router (which builds workflow ids) and by the tools that read histories. Every name is
recorded in the histories of running journeys, so renaming one breaks them: an activity name is
checked on replay, and signals sent under an old name find no handler.
"""

from __future__ import annotations

SEND_MESSAGE = "send_message"
"""The activity that delivers one message (`send` and its quiet-hours retries)."""
LOAD_PROFILE = "load_profile"
"""The activity that reads the customer's profile (`profile`)."""
RESOLVE_LOCAL_TIME = "resolve_local_time"
"""The activity that turns a local time into an instant in the customer's zone (`wait_until`)."""
RECORD_CONVERSION = "record_conversion"
"""The activity that records a goal reached."""
RECORD_ENTRY = "record_entry"
"""The local activity with which a journey run writes its own entry-ledger row."""

EVENT_SIGNAL = "event"
"""The signal carrying a customer event to a running journey."""
EXIT_SIGNAL = "exit"
"""The signal an operator sends to end a journey now (the argument is the reason)."""
STATE_QUERY = "state"
"""The query returning a journey's step, awaited events, sends and outcome."""

WORKFLOW_ID_PREFIX = "journey/"
"""Every journey workflow id starts with this: `journey/{name}/{customer}[/{instance}]`."""


def workflow_id(journey: str, customer_id: str, instance: str | None = None) -> str:
    """The workflow id of journey `journey` for one customer (and instance, if any), e.g.
    `journey/abandoned_cart/c-42/cart-7`."""
    base = f"{journey_prefix(journey)}{customer_id}"
    return f"{base}/{instance}" if instance else base


def journey_prefix(journey: str) -> str:
    """The prefix shared by the workflow ids of every instance of `journey`: `journey/{name}/`."""
    return f"{WORKFLOW_ID_PREFIX}{journey}/"
