"""Integer parameters, bounded: an unbounded one reached the database driver as is and failed
there (`OverflowError`, a 500) for values past 64 bits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

MAX_ROW_ID = 2**63 - 1
"""Largest row id a database integer column holds."""

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id (1 to 2^63-1).")]
"""A path parameter naming a row by its integer id."""


def limit_description(maximum: int) -> str:
    """How a `limit` query parameter is documented."""
    return f"At most this many, 0-{maximum}; -1 for all."


def no_limit(limit: int) -> int | None:
    """A `limit` query parameter (-1 or 0 up to its bound) as the stores take it: -1 = no limit."""
    return None if limit == -1 else limit
