"""A fake Slack (ASGI): the Web API's chat.postMessage, answering the way Slack does (HTTP 200
with `{"ok": false, "error": ...}` for most refusals, 429 `ratelimited` with Retry-After), and an
incoming webhook answering `ok` or a plain-text error; with knobs for rate limits, Slack's own
failures, outages and hangs."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

HANG_LIMIT_SECONDS = 30.0
MAX_TEXT_LENGTH = 40_000
WEBHOOK_PATH = "/services/T0OVERTURE/B0ALERTS/fake-webhook-secret"

Misbehaviour = Literal["ratelimited", "internal_error", "500", "hang"]


def slack_refusal(code: str, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """A Web API refusal: `{"ok": false, "error": code}`, usually with HTTP 200."""
    return JSONResponse({"ok": False, "error": code}, status_code=status, headers=headers)


@dataclass
class FakeSlack:
    """One Slack workspace with a bot. `messages` holds what chat.postMessage posted (with the
    channel it landed in: a member's DM is `D...`); `webhook_messages` what the webhook posted."""

    bot_token: str = "xoxb-fake-bot-token"
    members: set[str] = field(default_factory=lambda: {"U0CUSTOMER"})
    channels: set[str] = field(default_factory=lambda: {"C0GENERAL"})
    archived: set[str] = field(default_factory=set)
    retry_after: str = "30"
    messages: list[dict[str, Any]] = field(default_factory=list)
    webhook_messages: list[dict[str, Any]] = field(default_factory=list)
    _planned: deque[Misbehaviour] = field(default_factory=deque)
    _sequence: itertools.count[int] = field(default_factory=itertools.count)

    def misbehave(self, how: Misbehaviour, times: int = 1) -> None:
        """Answer the next `times` requests (either route) with 429 `ratelimited` (and
        Retry-After), 200 `internal_error`, a bare 500, or not at all (the message is posted,
        then the answer never comes while the client waits)."""
        self._planned.extend([how] * times)

    @property
    def app(self) -> Starlette:
        """The ASGI app to serve: the Web API under `{url}/api`, the webhook at WEBHOOK_PATH."""
        return Starlette(
            routes=[
                Route("/api/chat.postMessage", self._post_message, methods=["POST"]),
                Route("/services/{rest:path}", self._webhook, methods=["POST"]),
            ]
        )

    async def _post_message(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return slack_refusal("not_authed")
        if token != self.bot_token:
            return slack_refusal("invalid_auth")
        how = self._planned.popleft() if self._planned else None
        if how == "ratelimited":
            return slack_refusal("ratelimited", 429, headers={"Retry-After": self.retry_after})
        if how == "internal_error":
            return slack_refusal("internal_error")
        if how == "500":
            return PlainTextResponse("Internal Server Error", status_code=500)
        try:
            body = await request.json()
        except ValueError:
            return slack_refusal("invalid_json")
        if not isinstance(body, dict):
            return slack_refusal("invalid_json")
        channel, text = body.get("channel"), body.get("text")
        refusal = self._refusal(channel, text)
        if refusal is not None:
            return slack_refusal(refusal)
        posted_in = "D" + channel[1:] if channel in self.members else channel
        ts = f"{int(time.time())}.{next(self._sequence):06d}"
        self.messages.append({**body, "channel": posted_in, "ts": ts})
        if how == "hang":
            await _until_disconnected(request)
        return JSONResponse({"ok": True, "channel": posted_in, "ts": ts, "message": {"text": text, "ts": ts}})

    def _refusal(self, channel: object, text: object) -> str | None:
        """The error code Slack would answer for this channel and text, or None."""
        if not isinstance(channel, str) or channel not in self.members | self.channels | self.archived:
            return "channel_not_found"
        if channel in self.archived:
            return "is_archived"
        if not isinstance(text, str) or not text.strip():
            return "no_text"
        if len(text) > MAX_TEXT_LENGTH:
            return "msg_too_long"
        return None

    async def _webhook(self, request: Request) -> Response:
        if request.url.path != WEBHOOK_PATH:
            return PlainTextResponse("no_service", status_code=404)
        how = self._planned.popleft() if self._planned else None
        if how == "ratelimited":
            return PlainTextResponse("rate_limited", status_code=429, headers={"Retry-After": self.retry_after})
        if how in ("internal_error", "500"):
            return PlainTextResponse("internal_error", status_code=500)
        try:
            body = await request.json()
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"].strip():
            return PlainTextResponse("no_text", status_code=400)
        self.webhook_messages.append(body)
        if how == "hang":
            await _until_disconnected(request)
        return PlainTextResponse("ok")


async def _until_disconnected(request: Request) -> None:
    """Wait until the client gives up (or HANG_LIMIT_SECONDS pass, so the server can stop)."""
    deadline = asyncio.get_running_loop().time() + HANG_LIMIT_SECONDS
    while not await request.is_disconnected() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
