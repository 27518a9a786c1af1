"""What Temporal can never carry, told apart before anything is stored, and Temporal's refusals
that no retry can change, told apart from outages.

An event's properties travel to its journeys as Temporal payloads (JSON, non-ASCII escaped);
Temporal refuses a payload over its blob limit (2 MiB by default) and a request over gRPC's
message limit (4 MiB). An event that big would be stored and then never routed, so the API refuses
it up front (413) against OVERTURE_MAX_EVENT_PROPERTIES_BYTES.
"""

from __future__ import annotations

import json
from typing import Any

from temporalio.service import RPCError, RPCStatusCode

MESSAGE_TOO_LARGE = ("larger than max", "exceeds limit", "size limit")
"""How Temporal words a size refusal: gRPC's "received message larger than max (… vs. 4194304)"
(RESOURCE_EXHAUSTED, which otherwise means "slow down") and the server's "Blob data size exceeds
limit" (INVALID_ARGUMENT)."""


class PayloadTooLarge(ValueError):
    """Data over the size limit for what Temporal carries; the message names the limit and the
    setting that raises it."""


def payload_size(value: Any) -> int:
    """The bytes `value` takes as a Temporal JSON payload (compact, non-ASCII escaped)."""
    return len(json.dumps(value, separators=(",", ":"), default=str))


def check_payload_size(value: Any, limit: int, what: str) -> None:
    """PayloadTooLarge when `value` (event properties, entry data) is over `limit` bytes."""
    if not value:
        return
    size = payload_size(value)
    if size > limit:
        raise PayloadTooLarge(
            f"{what} take {size} bytes as JSON (compact, non-ASCII escaped as \\uXXXX), over the limit of "
            f"{limit} bytes (OVERTURE_MAX_EVENT_PROPERTIES_BYTES): send less, e.g. keep large data in your "
            "own store and send its id"
        )


def refused_for_good(error: RPCError) -> bool:
    """Whether Temporal refused for a reason a retry cannot change (a bad or oversized request),
    rather than because it is down, busy or rate limiting."""
    if error.status == RPCStatusCode.INVALID_ARGUMENT:
        return True
    too_large = any(words in error.message.lower() for words in MESSAGE_TOO_LARGE)
    return too_large and error.status in (RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNKNOWN)
