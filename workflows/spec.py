"""A journey's static declaration: what starts it, what it listens to, how it may be re-entered.

The router reads these declarations to decide, per event name, which workflows to start or
signal, without asking Temporal or the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from workflows import names

if TYPE_CHECKING:
    from workflows.timing import QuietHours

ReEntry = Literal["once", "after_exit", "always"]
REENTRY_RULES: tuple[ReEntry, ...] = ("once", "after_exit", "always")


class JourneyDefinitionError(Exception):
    """A journey is declared or used inconsistently (a bug in the journey's code)."""


@dataclass(frozen=True)
class JourneySpec:
    """Everything about a journey that is known without running it.

    - `trigger`: the event name that enters a customer into the journey (None: API entry only);
    - `events`: the event names the journey waits for with `wait_for`;
    - `exit_on`: event names that end the journey at once (outcome `exited`);
    - `goal`: event names that count as a conversion and end the journey (outcome `converted`);
    - `reentry`: `once` (never again), `after_exit` (again once the last run ended) or `always`
      (a new instance for every trigger, running side by side);
    - `key`: an event property naming the instance, so one customer can run several side by side;
    - `quiet_hours`: the journey's own quiet window (else the global OVERTURE_QUIET_HOURS).
    """

    name: str
    trigger: str | None
    events: frozenset[str]
    exit_on: frozenset[str]
    reentry: ReEntry
    key: str | None
    goal: frozenset[str] = frozenset()
    quiet_hours: QuietHours | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise JourneyDefinitionError(
                f"journey name {self.name!r} must be lower_snake_case (it is part of workflow ids and URLs)"
            )
        if self.reentry not in REENTRY_RULES:
            raise JourneyDefinitionError(
                f"journey {self.name}: reentry must be one of {', '.join(REENTRY_RULES)}, not {self.reentry!r}"
            )
        overlap = self.events & (self.exit_on | self.goal)
        if overlap:
            raise JourneyDefinitionError(
                f"journey {self.name}: {', '.join(sorted(overlap))} cannot be both waited for and end the journey"
            )

    @property
    def listens(self) -> frozenset[str]:
        """Event names delivered to a running instance of this journey."""
        return self.events | self.exit_on | self.goal

    @property
    def instanced(self) -> bool:
        """True when one customer can have several instances (a key, or re-entry `always`)."""
        return self.key is not None or self.reentry == "always"

    def workflow_id(self, customer_id: str, instance: str | None = None) -> str:
        """The workflow id of this journey for one customer (and instance, if any)."""
        return names.workflow_id(self.name, customer_id, instance)


def journey_name_from_class(class_name: str) -> str:
    """`WelcomeSeries` -> `welcome_series`: the default journey name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()
