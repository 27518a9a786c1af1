"""Short, human-readable renderings of durations and instants for step names and UI details."""

from __future__ import annotations

from datetime import datetime, timedelta


def short_duration(duration: timedelta) -> str:
    """`timedelta(days=2, hours=3)` -> `2d3h`; used in step names such as `wait:2d3h`."""
    seconds = int(duration.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)


def utc_label(instant: datetime) -> str:
    """An instant as `2026-11-24 09:00 UTC`, for `set_current_details` texts."""
    return instant.strftime("%Y-%m-%d %H:%M UTC")
