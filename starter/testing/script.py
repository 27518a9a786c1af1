"""Event scripts for `overture simulate` and the journey bench: what the customer does, and when.

Line format (`events.txt`), one event per line; lines starting with `#` are comments:

    +0      signed_up     {"plan": "pro"}
    +1d2h   activated

YAML (`events.yaml`):

    - at: +0
      event: signed_up
      properties: {plan: pro}
    - at: +1d2h
      event: activated

Offsets count from the start of the simulation: `+0`, `+90s`, `+30m`, `+2h`, `+1d12h`, `+2w`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from workflows.durations import parse_duration

EVENT_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")


class ScriptError(ValueError):
    """The event script cannot be read; the message names the line and the problem."""


@dataclass(frozen=True)
class ScriptedEvent:
    """One event of the script."""

    offset: timedelta
    name: str
    properties: dict[str, Any] = field(default_factory=dict)


def parse_offset(text: str) -> timedelta:
    """`+1d2h` -> timedelta(days=1, hours=2); `+0` is the start (workflows/durations.py grammar)."""
    try:
        return parse_duration(str(text).strip().removeprefix("+"))
    except ValueError as error:
        raise ValueError(f"offset {text!r} is not like +0, +30m, +2h, +1d12h or +2w") from error


def load_script(path: Path) -> list[ScriptedEvent]:
    """Read a script file (YAML for .yaml/.yml, else the line format), sorted by offset."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScriptError(f"{path}: {error.strerror}") from error
    events = _from_yaml(str(path), text) if path.suffix in (".yaml", ".yml") else _from_lines(str(path), text)
    return sorted(events, key=lambda event: event.offset)


def parse_script(text: str, *, source: str = "<script>") -> list[ScriptedEvent]:
    """Read a script in the line format from a string (e.g. written inline in a test), sorted by
    offset; errors name `source` and the line."""
    return sorted(_from_lines(source, text), key=lambda event: event.offset)


def _from_lines(path: str, text: str) -> list[ScriptedEvent]:
    events = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pieces = line.split(None, 2)
        if len(pieces) < 2:
            raise ScriptError(f"{path}:{number}: expected '<offset> <event> [json properties]', got {raw!r}")
        try:
            properties = json.loads(pieces[2]) if len(pieces) == 3 else {}
        except json.JSONDecodeError as error:
            raise ScriptError(f"{path}:{number}: properties are not JSON: {error.msg}") from error
        events.append(_event(path, number, pieces[0], pieces[1], properties))
    return events


def _from_yaml(path: str, text: str) -> list[ScriptedEvent]:
    try:
        items = yaml.safe_load(text) or []
    except yaml.YAMLError as error:
        raise ScriptError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(items, list):
        raise ScriptError(f"{path}: expected a list of events")
    events = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or "event" not in item:
            raise ScriptError(f"{path}: item {number} needs at least `event:` (and `at:`)")
        events.append(_event(path, number, str(item.get("at", "+0")), str(item["event"]), item.get("properties") or {}))
    return events


def _event(path: str, number: int, offset: str, name: str, properties: Any) -> ScriptedEvent:
    try:
        at = parse_offset(offset)
    except ValueError as error:
        raise ScriptError(f"{path}:{number}: {error}") from error
    if not EVENT_NAME.match(name):
        raise ScriptError(f"{path}:{number}: {name!r} is not an event name")
    if not isinstance(properties, dict):
        raise ScriptError(f"{path}:{number}: properties must be an object, got {type(properties).__name__}")
    return ScriptedEvent(offset=at, name=name, properties=properties)
