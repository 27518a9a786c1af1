"""The names the API takes from clients — customer ids, topics, event names, keys — each a
constrained type declared once here and used by every route and body, path parameters included,
so no route lets through what another refuses.

Ids end up in database columns (200 characters), Temporal workflow ids and visibility queries,
so they are printable text: no control, format or unassigned characters (a NUL byte breaks the
visibility query), no surrogates (not UTF-8), no '/' or whitespace.

A customer id holds no '\\' or '"' either: Temporal's SQL visibility stores (SQLite, PostgreSQL)
escape both the MySQL way inside the SQL they build, so `CustomerId = '...'` never matches such
an id and its running journeys would never show. No quoting on our side survives that.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

MAX_ID_LENGTH = 200
"""Longest customer id or key: the width of the id columns (activities/store/tables.py)."""

MAX_NAME_LENGTH = 100
"""Longest event name or topic."""

UNQUERYABLE = frozenset('\\"')
"""Characters a Temporal SQL visibility query cannot match (see above)."""


def _no_control_characters(value: str) -> str:
    for position, char in enumerate(value):
        if unicodedata.category(char).startswith("C"):
            raise ValueError(
                f"character {char!a} at position {position} is a control or non-printable character; use printable text"
            )
    return value


def _printable_id(value: str) -> str:
    _no_control_characters(value)
    for position, char in enumerate(value):
        if char == "/" or char.isspace():
            raise ValueError(f"character {char!a} at position {position} is not allowed: no '/' or spaces")
    return value


def _customer_id(value: str) -> str:
    _printable_id(value)
    for position, char in enumerate(value):
        if char in UNQUERYABLE:
            raise ValueError(
                f"character {char!a} at position {position} is not allowed in a customer id: "
                "Temporal's visibility queries cannot match it"
            )
    return value


CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(_customer_id)]
"""The product's own id of a customer: 1-200 printable characters, no '/', spaces, control
characters, '\\' or '"' (an email address or phone number is fine)."""

EntryKey = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(_printable_id)]
"""A journey instance's key (part of its workflow id): 1-200 printable characters, no '/' or spaces."""

IdempotencyKey = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(_no_control_characters)
]
"""A client's key for one event: 1-200 printable characters."""

EventName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"^[A-Za-z0-9_.:-]+$")]
"""An event's name, e.g. signed_up: 1-100 ASCII letters, digits, '_', '.', ':' or '-'."""

Topic = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"^[A-Za-z0-9_-]+$")]
"""A consent topic, e.g. newsletter: 1-100 ASCII letters, digits, '_' or '-'."""

PushToken = Annotated[str, StringConstraints(min_length=1, max_length=4096), AfterValidator(_no_control_characters)]
"""A device's push token as its push service issued it: 1-4096 printable characters."""
