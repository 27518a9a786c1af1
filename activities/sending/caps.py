"""Frequency caps: at most N messages of a topic per customer per rolling window, across journeys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from workflows.durations import parse_duration


@dataclass(frozen=True)
class FrequencyCap:
    """`limit` messages per `window`."""

    limit: int
    window: timedelta


def parse_caps(text: str) -> dict[str, FrequencyCap]:
    """`"marketing=3/7d,product=10/1d"` -> caps by topic; ValueError naming the bad part. Windows
    are durations (workflows/durations.py): `7d`, `12h`, `1d12h`."""
    caps: dict[str, FrequencyCap] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        topic, eq, rule = part.partition("=")
        count, slash, window = rule.partition("/")
        try:
            length = parse_duration(window)
        except ValueError:
            length = timedelta()
        if not (eq and slash and topic.strip() and count.strip().isdigit() and length > timedelta()):
            raise ValueError(f"frequency cap {part!r} is not like marketing=3/7d")
        caps[topic.strip()] = FrequencyCap(limit=int(count), window=length)
    return caps
