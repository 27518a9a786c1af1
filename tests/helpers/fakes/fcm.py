"""A fake Google token endpoint and FCM HTTP v1 API (ASGI), answering the way Google does: the
JWT-bearer grant checked against the service account's public key, short-lived bearer tokens,
FCM's JSON errors (UNREGISTERED, INVALID_ARGUMENT, QUOTA_EXCEEDED, ...), `projects/.../messages/...`
names; with knobs for rate limits, outages, revoked tokens and hangs. `write_service_account`
makes the matching key file."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activities.providers.fcm import BAD_REQUEST_TYPE, FCM_ERROR_TYPE, GRANT_TYPE, SCOPE

HANG_LIMIT_SECONDS = 30.0
TOKEN_PATH = "/token"

Misbehaviour = Literal["429", "500", "503", "401", "hang"]


@dataclass(frozen=True)
class ServiceAccountFile:
    """A service-account key file written for a test, and the public half of its key."""

    path: Path
    project_id: str
    client_email: str
    public_key: rsa.RSAPublicKey


def write_service_account(
    directory: Path,
    project_id: str = "overture-test",
    client_email: str = "overture@overture-test.iam.gserviceaccount.com",
    token_uri: str = "https://oauth2.googleapis.com/token",
) -> ServiceAccountFile:
    """Write `service-account.json` with a freshly generated 2048-bit RSA key, laid out like the
    key files the Google Cloud console hands out."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    document = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": client_email,
        "client_id": str(secrets.randbelow(10**20)),
        "token_uri": token_uri,
    }
    path = directory / "service-account.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return ServiceAccountFile(path, project_id, client_email, key.public_key())


def fcm_error(
    status: int, rpc_status: str, message: str, code: str | None = None, bad_field: str | None = None
) -> dict[str, Any]:
    """An error body the way FCM writes one: google.rpc status, FcmError code, BadRequest field."""
    details: list[dict[str, Any]] = []
    if code is not None:
        details.append({"@type": FCM_ERROR_TYPE, "errorCode": code})
    if bad_field is not None:
        violation = {"field": bad_field, "description": message}
        details.append({"@type": BAD_REQUEST_TYPE, "fieldViolations": [violation]})
    return {"error": {"code": status, "message": message, "status": rpc_status, "details": details}}


def _error(status: int, rpc_status: str, message: str, **kwargs: Any) -> JSONResponse:
    headers = kwargs.pop("headers", None)
    return JSONResponse(fcm_error(status, rpc_status, message, **kwargs), status_code=status, headers=headers)


@dataclass
class FakeFcm:
    """One Firebase project and the service account allowed to send to it. `messages` holds every
    message FCM accepted; `token_requests` counts calls to the token endpoint (granted or not)."""

    project_id: str
    client_email: str
    public_key: rsa.RSAPublicKey
    registered: set[str] = field(default_factory=set)  # device tokens of installed apps
    foreign: set[str] = field(default_factory=set)  # device tokens of another Firebase project
    token_lifetime_seconds: int = 3600
    retry_after: str = "5"
    messages: list[dict[str, Any]] = field(default_factory=list)
    token_requests: int = 0
    _issued: dict[str, float] = field(default_factory=dict)  # access token -> expiry (time.time)
    _planned: deque[Misbehaviour | None] = field(default_factory=deque)

    @classmethod
    def for_account(cls, account: ServiceAccountFile, registered: set[str] | None = None) -> FakeFcm:
        """The project of a key file made by `write_service_account`, with these installed apps."""
        return cls(account.project_id, account.client_email, account.public_key, registered=set(registered or ()))

    def misbehave(self, how: Misbehaviour, times: int = 1, after: int = 0) -> None:
        """After `after` normal answers, answer the next `times` messages:send requests with 429
        QUOTA_EXCEEDED (and Retry-After), 500 INTERNAL, 503 UNAVAILABLE, 401 (every access token
        issued so far expires first), or not at all (the message is accepted, then the answer
        never comes while the client waits)."""
        self._planned.extend([None] * after + [how] * times)

    @property
    def app(self) -> Starlette:
        """The ASGI app to serve; its token endpoint is `{url}/token`."""
        return Starlette(
            routes=[
                Route(TOKEN_PATH, self._token, methods=["POST"]),
                Route("/v1/projects/{project}/messages:send", self._send, methods=["POST"]),
            ]
        )

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if form.get("grant_type") != GRANT_TYPE:
            return JSONResponse({"error": "unsupported_grant_type", "error_description": "Invalid grant_type."}, 400)
        problem = self._check_assertion(form.get("assertion", ""), str(request.url))
        if problem is not None:
            return JSONResponse({"error": "invalid_grant", "error_description": problem}, 400)
        token = "ya29." + secrets.token_urlsafe(32)
        self._issued[token] = time.time() + self.token_lifetime_seconds
        return JSONResponse({"access_token": token, "expires_in": self.token_lifetime_seconds, "token_type": "Bearer"})

    def _check_assertion(self, assertion: str, audience: str) -> str | None:
        """Why Google would refuse the assertion, or None."""
        try:
            claims = jwt.decode(
                assertion,
                self.public_key,
                algorithms=["RS256"],
                audience=audience,
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except jwt.InvalidSignatureError:
            return "Invalid JWT Signature."
        except jwt.InvalidTokenError as error:
            return f"Invalid JWT: {error}"
        if claims["iss"] != self.client_email:
            return "Invalid JWT: unknown issuer."
        if claims.get("scope") != SCOPE:
            return "Invalid OAuth scope or ID token audience provided."
        if claims["exp"] - claims["iat"] > 3600:
            return "Invalid JWT: Token must be a short-lived token (60 minutes)."
        return None

    async def _send(self, request: Request) -> Response:
        how = self._planned.popleft() if self._planned else None
        if how == "401":
            self._issued.clear()
        if not self._authorised(request):
            return _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if request.path_params["project"] != self.project_id:
            return _error(403, "PERMISSION_DENIED", "Permission 'cloudmessaging.messages.create' denied.")
        if how == "429":
            headers = {"Retry-After": self.retry_after}
            return _error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", code="QUOTA_EXCEEDED", headers=headers)
        if how == "500":
            return _error(500, "INTERNAL", "Internal error encountered.", code="INTERNAL")
        if how == "503":
            return _error(503, "UNAVAILABLE", "The service is currently unavailable.", code="UNAVAILABLE")
        try:
            message = (await request.json())["message"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.", code="INVALID_ARGUMENT")
        refusal = self._refusal(message)
        if refusal is not None:
            return refusal
        name = f"projects/{self.project_id}/messages/0:{secrets.token_hex(8)}"
        self.messages.append({"name": name, **message})
        if how == "hang":
            await _until_disconnected(request)
        return JSONResponse({"name": name})

    def _refusal(self, message: dict[str, Any]) -> Response | None:
        """FCM's answer to a message it will not send, or None."""
        token = message.get("token")
        data = message.get("data", {})
        if not isinstance(data, dict) or not all(isinstance(value, str) for value in data.values()):
            text = "Invalid value at 'message.data': values must be strings."
            return _error(400, "INVALID_ARGUMENT", text, code="INVALID_ARGUMENT", bad_field="message.data")
        if not isinstance(token, str) or not token or any(c.isspace() for c in token):
            text = "The registration token is not a valid FCM registration token"
            return _error(400, "INVALID_ARGUMENT", text, code="INVALID_ARGUMENT", bad_field="message.token")
        if token in self.foreign:
            return _error(403, "PERMISSION_DENIED", "SenderId mismatch", code="SENDER_ID_MISMATCH")
        if token not in self.registered:
            return _error(404, "NOT_FOUND", "Requested entity was not found.", code="UNREGISTERED")
        return None

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expiry = self._issued.get(token)
        return scheme.lower() == "bearer" and expiry is not None and time.time() < expiry


async def _until_disconnected(request: Request) -> None:
    """Wait until the client gives up (or HANG_LIMIT_SECONDS pass, so the server can stop)."""
    deadline = asyncio.get_running_loop().time() + HANG_LIMIT_SECONDS
    while not await request.is_disconnected() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
