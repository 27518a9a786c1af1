"""Calls to a dependency (Temporal, the database) bounded in time, so a stalled one cannot hang a
request: the answer, or `Unavailable` with a reason a client can read.

A frozen Temporal server keeps its TCP connection open and never answers, and the client's own
retries then take ~27 s before failing; the bound (`dependency_timeout`, 2 s by default) is what
lets `/healthz` and the profile read answer degraded instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from temporalio.service import RPCError

T = TypeVar("T")


class Unavailable(Exception):
    """The dependency did not answer in time or failed; `reason` says which, without echoing the
    request (a Temporal error may quote a visibility query holding a customer id)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def within(seconds: float, call: Awaitable[T], dependency: str) -> T:
    """`await call`, or raise Unavailable once `seconds` pass or the call fails."""
    try:
        async with asyncio.timeout(seconds):
            return await call
    except TimeoutError:
        raise Unavailable(f"{dependency} did not answer within {seconds:g} s") from None
    except RPCError as error:
        raise Unavailable(f"{dependency} failed: {error.status.name}") from error
    except Exception as error:  # any failure of the dependency is "unavailable" to the reader
        raise Unavailable(f"{dependency} failed: {type(error).__name__}") from error
