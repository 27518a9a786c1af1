"""Local-time vocabulary for journeys: times of day, weekdays and quiet hours.

Journeys only describe local times; the activities turn them into instants in the customer's
time zone (read from the profile at that moment), so the workflow stays deterministic and the
decision is recorded in its history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from workflows.spec import JourneyDefinitionError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def local_time(hour: int, minute: int = 0) -> time:
    """A time of day in the customer's time zone: `local_time(9)` is 09:00 wherever they live."""
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise JourneyDefinitionError(f"local_time({hour}, {minute}) is not a time of day")
    return time(hour, minute)


def weekday_index(name: str) -> int:
    """`"tue"` (or `"Tuesday"`) -> 1, Monday being 0."""
    short = name.strip().lower()[:3]
    if short not in WEEKDAYS:
        raise JourneyDefinitionError(f"unknown weekday {name!r}; use one of {', '.join(WEEKDAYS)}")
    return WEEKDAYS.index(short)


@dataclass(frozen=True)
class QuietHours:
    """A nightly window in the customer's local time when nothing but transactional messages go
    out; a send that falls inside waits (on a durable timer) until the window ends.
    `QuietHours.parse("21:00-08:00")`."""

    start: str
    end: str

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
                raise JourneyDefinitionError(f"quiet hours need HH:MM times, got {value!r}")
        if self.start == self.end:
            raise JourneyDefinitionError("quiet hours must not start and end at the same time")

    @classmethod
    def parse(cls, window: str) -> QuietHours:
        """`"21:00-08:00"` -> QuietHours("21:00", "08:00")."""
        start, sep, end = window.partition("-")
        if not sep:
            raise JourneyDefinitionError(f"quiet hours look like 21:00-08:00, got {window!r}")
        return cls(start.strip(), end.strip())

    @property
    def start_time(self) -> time:
        """The window's start as a time of day."""
        return time.fromisoformat(self.start)

    @property
    def end_time(self) -> time:
        """The window's end as a time of day."""
        return time.fromisoformat(self.end)

    def contains(self, moment: time) -> bool:
        """True when the local time of day `moment` falls inside the window."""
        start, end = self.start_time, self.end_time
        if start < end:
            return start <= moment < end
        return moment >= start or moment < end  # the window wraps past midnight
