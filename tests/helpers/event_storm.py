"""Many customers' events posted at once over HTTP, with the fate of every post recorded: when
it went out, what came back (or that the connection died under it), how long it took."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

REPOST_PAUSE_SECONDS = 0.5


@dataclass
class Post:
    """One event post and what became of it."""

    body: dict[str, Any]
    sent_at: float | None = None
    answered_at: float | None = None
    status: int | None = None
    answer: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    pending_answers: int = 0
    """`routing: pending` answers before this one (when posted until routed)."""

    @property
    def customer_id(self) -> str:
        """Whose event it is."""
        return str(self.body["customer_id"])

    @property
    def answered(self) -> bool:
        """True once an HTTP answer came back."""
        return self.status is not None

    @property
    def seconds(self) -> float | None:
        """Time from sending to the (last) answer."""
        if self.sent_at is None or self.answered_at is None:
            return None
        return self.answered_at - self.sent_at

    def describe(self) -> str:
        """One line for failure messages."""
        return f"{self.customer_id}: status={self.status} answer={self.answer} error={self.error}"


def signed_up(customer_id: str, idempotency_key: str) -> dict[str, Any]:
    """The welcome journey's trigger event for a customer."""
    return {"customer_id": customer_id, "name": "signed_up", "idempotency_key": idempotency_key}


async def put_profiles(http: httpx.AsyncClient, customer_ids: Sequence[str], concurrency: int = 10) -> None:
    """Give every customer an email address, so the welcome email can go out."""
    gate = asyncio.Semaphore(concurrency)

    async def put(customer_id: str) -> None:
        async with gate:
            response = await http.put(f"/v1/customers/{customer_id}", json={"email": f"{customer_id}@example.com"})
            response.raise_for_status()

    await asyncio.gather(*(put(customer_id) for customer_id in customer_ids))


class Storm:
    """Posts prepared events, `concurrency` at a time; `halt()` stops sending new ones (those
    in flight go on). With `until_routed`, a `routing: pending` answer is posted again (same
    body, same idempotency key), as a client wanting the final answer would."""

    def __init__(
        self, http: httpx.AsyncClient, bodies: Sequence[dict[str, Any]], concurrency: int, until_routed: bool = False
    ) -> None:
        self.posts = [Post(body) for body in bodies]
        self._http = http
        self._gate = asyncio.Semaphore(concurrency)
        self._halted = False
        self._until_routed = until_routed

    def halt(self) -> None:
        """Send no further posts."""
        self._halted = True

    async def run(self) -> list[Post]:
        """Post everything (unless halted); every post's fate."""
        await asyncio.gather(*(self._post(post) for post in self.posts))
        return self.posts

    @property
    def answered(self) -> list[Post]:
        """Posts answered so far."""
        return [post for post in self.posts if post.answered]

    async def _post(self, post: Post) -> None:
        async with self._gate:
            if self._halted:
                return
            loop = asyncio.get_running_loop()
            post.sent_at = loop.time()
            while True:
                try:
                    response = await self._http.post("/v1/events", json=post.body)
                except httpx.TransportError as error:
                    post.error = repr(error)
                    return
                post.answered_at = loop.time()
                post.status = response.status_code
                try:
                    post.answer = response.json()
                except ValueError:
                    post.answer = {"text": response.text}
                if not (self._until_routed and post.status == 202 and post.answer.get("routing") == "pending"):
                    return
                post.pending_answers += 1
                await asyncio.sleep(REPOST_PAUSE_SECONDS)


def seconds_summary(values: Sequence[float]) -> dict[str, float]:
    """Median, max and count of some durations, rounded for printing."""
    if not values:
        return {"count": 0}
    return {"count": len(values), "median": round(statistics.median(values), 3), "max": round(max(values), 3)}
