"""The request body limit: a 413 for a body over OVERTURE_MAX_BODY_BYTES, decided before it is
read (a `Content-Length` over the limit) or while it arrives (bytes counted chunk by chunk), so
neither a huge body nor a lying or missing `Content-Length` can fill the process's memory."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """A request body over the limit; its detail names the limit and the setting that raises it.

    An HTTPException, so a route reading its body when the limit is passed answers it (FastAPI
    lets HTTPExceptions raised while reading a body through)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            status_code=413,
            detail=f"request body over the limit of {limit} bytes (OVERTURE_MAX_BODY_BYTES): send less, "
            "e.g. keep large data in your own store and send its id",
        )


class BodyLimit:
    """Pure ASGI middleware counting the bytes of every HTTP request body against `limit()`.

    `limit` is read per request (the settings arrive with the app's services, after the app is
    built)."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a declared length over the limit at once; otherwise count the body as it comes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        if _declared_length(scope) > limit:
            await _refuse(BodyTooLarge(limit), scope, receive, send)
            return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge as refusal:  # read outside a route's own error handling
            if response_started:
                raise
            await _refuse(refusal, scope, receive, send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0  # the server rejects a malformed one itself
    return 0


async def _refuse(refusal: BodyTooLarge, scope: Scope, receive: Receive, send: Send) -> None:
    # No `Connection: close`: the server then drops the rest of the body as it arrives (without
    # keeping it), so the client can finish sending and read this answer instead of a reset.
    response = JSONResponse({"detail": refusal.detail}, status_code=refusal.status_code)
    await response(scope, receive, send)
