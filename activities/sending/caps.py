"""Frequency caps: at most N messages of a topic per customer per rolling window, across journeys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

WINDOW = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")


@dataclass(frozen=True)
class FrequencyCap:
    """`limit` messages per `window`."""

    limit: int
    window: timedelta


def parse_caps(text: str) -> dict[str, FrequencyCap]:
    """`"marketing=3/7d,product=10/1d"` -> caps by topic; ValueError naming the bad part."""
    caps: dict[str, FrequencyCap] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        topic, eq, rule = part.partition("=")
        count, slash, window = rule.partition("/")
        match = WINDOW.match(window.strip())
        if not (
            eq and slash and topic.strip() and count.strip().isdigit() and match and any(match.groupdict().values())
        ):
            raise ValueError(f"frequency cap {part!r} is not like marketing=3/7d")
        values = {unit: int(value or 0) for unit, value in match.groupdict().items()}
        caps[topic.strip()] = FrequencyCap(
            limit=int(count), window=timedelta(days=values["d"], hours=values["h"], minutes=values["m"])
        )
    return caps
