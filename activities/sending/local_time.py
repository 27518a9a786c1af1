"""Turning a customer's local times into instants: DST-correct, with zoneinfo."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflows.timing import QuietHours


def check_timezone(name: str) -> str:
    """`name` if it is an IANA time zone this machine knows; ValueError saying so otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown IANA time zone {name!r}") from error
    return name


def customer_zone(name: str | None, default: str) -> ZoneInfo:
    """The customer's zone, or `default` when the profile has none (or an unknown one)."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def next_local_time(after: datetime, zone: ZoneInfo, at: time, weekday: int | None = None) -> datetime:
    """The first instant strictly after `after` whose wall-clock time in `zone` is `at` (on
    `weekday`, 0 = Monday, if given), in UTC.

    Each day's candidate is built from the wall-clock time, so 09:00 stays 09:00 across a DST
    change. A time skipped by a spring-forward moves on by the hour the clock jumped (02:30
    becomes 03:30); a time repeated in autumn resolves to its first occurrence.
    """
    local_day = after.astimezone(zone).date()
    for offset in range(0, 9):
        day = local_day + timedelta(days=offset)
        if weekday is not None and day.weekday() != weekday:
            continue
        candidate = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
        if candidate > after:
            return candidate
    raise AssertionError("a matching day always exists within 8 days")


def quiet_until(now: datetime, zone: ZoneInfo, window: QuietHours) -> datetime | None:
    """When `now` falls inside the quiet window (local time in `zone`), the instant it ends."""
    if not window.contains(now.astimezone(zone).time()):
        return None
    return next_local_time(now, zone, window.end_time)
