"""Durations as people write them (`30m`, `1d12h`, `2w`): the one grammar every setting, event
script and step name uses, and short renderings of instants for the UI's details."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_DURATION = re.compile(r"(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """`"1d12h"` -> timedelta(days=1, hours=12); units w, d, h, m, s in that order; `"0"` is zero.
    ValueError saying what a duration looks like otherwise."""
    cleaned = text.strip()
    if cleaned == "0":
        return timedelta()
    match = _DURATION.fullmatch(cleaned)
    if not cleaned or match is None:
        raise ValueError(f"{text!r} is not a duration like 90s, 30m, 2h, 1d12h or 2w")
    return timedelta(**{_UNITS[unit]: int(amount) for unit, amount in match.groupdict().items() if amount})


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
