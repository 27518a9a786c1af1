"""A fake Standard Webhooks receiver (ASGI), behaving the way a careful company endpoint does: it
checks the signature with `verify`, de-duplicates on `webhook-id` (a repeat is answered 200 but
not stored twice), and keeps what it stored in order; with knobs for outages, rate limits, a 410
and hangs."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from activities.providers.feedback import InboundWebhook
from activities.providers.webhook import verify

PATH = "/hooks/overture"
TEST_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HANG_LIMIT_SECONDS = 30.0

Misbehaviour = Literal["429", "500", "503", "410", "hang"]


@dataclass
class WebhookReceiver:
    """One company endpoint at PATH. `received` holds the payload of every message it stored (once
    per webhook-id, in order), `inbound` the matching raw requests, `requests` counts every request
    that reached it (signed or not, repeated or not)."""

    secret: str = TEST_SECRET
    answer_id: bool = False  # answer 200 {"id": "rcv_<n>"} instead of 204 No Content
    retry_after: str = "3"
    received: list[dict[str, Any]] = field(default_factory=list)
    inbound: list[InboundWebhook] = field(default_factory=list)
    requests: int = 0
    _ids: dict[str, str] = field(default_factory=dict)  # webhook-id -> our id for it
    _planned: deque[Misbehaviour] = field(default_factory=deque)

    def misbehave(self, how: Misbehaviour, times: int = 1) -> None:
        """Answer the next `times` signed requests with 429 (and Retry-After), 500, 503, 410 Gone,
        or not at all ("hang": the message is stored, then the answer never comes while the
        client waits)."""
        self._planned.extend([how] * times)

    @property
    def app(self) -> Starlette:
        """The ASGI app to serve."""
        return Starlette(routes=[Route(PATH, self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        self.requests += 1
        body = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        if not verify(self.secret, headers, body):
            return PlainTextResponse("invalid signature", status_code=401)
        how = self._planned.popleft() if self._planned else None
        if how == "429":
            return PlainTextResponse("slow down", status_code=429, headers={"Retry-After": self.retry_after})
        if how in ("500", "503"):
            return PlainTextResponse("receiver unavailable", status_code=int(how))
        if how == "410":
            return PlainTextResponse("this endpoint is gone", status_code=410)
        msg_id = headers["webhook-id"]
        if msg_id not in self._ids:
            try:
                payload = json.loads(body)
            except ValueError:
                return PlainTextResponse("body is not JSON", status_code=400)
            self._ids[msg_id] = f"rcv_{len(self._ids) + 1}"
            self.received.append(payload)
            self.inbound.append(InboundWebhook(url=str(request.url), headers=headers, body=body))
        if how == "hang":
            await _until_disconnected(request)
        if self.answer_id:
            return JSONResponse({"id": self._ids[msg_id]})
        return Response(status_code=204)


async def _until_disconnected(request: Request) -> None:
    """Wait until the client gives up (or HANG_LIMIT_SECONDS pass, so the server can stop)."""
    deadline = asyncio.get_running_loop().time() + HANG_LIMIT_SECONDS
    while not await request.is_disconnected() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
