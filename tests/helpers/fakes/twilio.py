"""A fake Twilio Messages API (ASGI), answering the way Twilio does: basic auth, E.164 checks,
JSON errors with Twilio's codes, `SM...` sids; with knobs for rate limits, outages and hangs."""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

E164 = re.compile(r"\+[1-9]\d{1,14}")
HANG_LIMIT_SECONDS = 30.0

Misbehaviour = Literal["429", "500", "503", "hang"]


def twilio_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error the way Twilio writes one."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass
class FakeTwilio:
    """One Twilio account. `messages` holds the form of every message it accepted."""

    account_sid: str = "AC" + "1" * 32
    auth_token: str = "twilio-test-token"
    messages: list[dict[str, str]] = field(default_factory=list)
    retry_after: str = "3"
    _planned: deque[Misbehaviour] = field(default_factory=deque)

    def misbehave(self, how: Misbehaviour, times: int = 1) -> None:
        """Answer the next `times` requests with 429 (and Retry-After), 500, 503, or not at all
        (the message is created, then the answer never comes while the client waits)."""
        self._planned.extend([how] * times)

    @property
    def app(self) -> Starlette:
        """The ASGI app to serve."""
        return Starlette(routes=[Route("/2010-04-01/Accounts/{sid}/Messages.json", self._create, methods=["POST"])])

    async def _create(self, request: Request) -> Response:
        if not self._authenticated(request) or request.path_params["sid"] != self.account_sid:
            return twilio_error(401, 20003, "Authenticate")
        how = self._planned.popleft() if self._planned else None
        if how == "429":
            return twilio_error(429, 20429, "Too Many Requests", headers={"Retry-After": self.retry_after})
        if how in ("500", "503"):
            return twilio_error(int(how), int(f"20{how}"), "Service unavailable")
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        to = form.get("To", "")
        if not E164.fullmatch(to.removeprefix("whatsapp:")):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        sid = "SM" + secrets.token_hex(16)
        self.messages.append({"sid": sid, **form})
        if how == "hang":
            await _until_disconnected(request)
        return JSONResponse({"sid": sid, "status": "queued", "to": to, "body": form.get("Body")}, status_code=201)

    def _authenticated(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(password, self.auth_token)


async def _until_disconnected(request: Request) -> None:
    """Wait until the client gives up (or HANG_LIMIT_SECONDS pass, so the server can stop)."""
    deadline = asyncio.get_running_loop().time() + HANG_LIMIT_SECONDS
    while not await request.is_disconnected() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
