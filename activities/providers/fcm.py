"""Firebase Cloud Messaging: push notifications through the FCM HTTP v1 API.

A push is one `POST /v1/projects/{project}/messages:send` per device token (JSON, OAuth2 bearer
token). The bearer token comes from Google's token endpoint in exchange for a JWT signed with the
service account's private key (RS256, the `jwt-bearer` grant); it is cached until shortly before
it expires, and fetched again when FCM answers 401. FCM has no idempotency key, so a call whose
answer was lost may have shown the notification.

A customer's push recipient is every device token they have, joined by ",". The message counts
as sent when at least one device accepted it; tokens FCM calls dead (UNREGISTERED, an invalid
token, a token of another sender) are skipped, and only when every token is dead is the message
refused for good. Device tokens are credentials of the customer's device: an error reason shows
at most their first few characters.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from activities.providers import http
from activities.providers.base import (
    OutgoingMessage,
    PermanentProviderError,
    Receipt,
    TransientProviderError,
)
from activities.providers.settings import FcmSettings

CREDENTIALS_SETTING = "OVERTURE_FCM_CREDENTIALS_FILE"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
ASSERTION_LIFETIME_SECONDS = 3600
# Fetch a new access token this long before the old one expires (at most half its lifetime).
REFRESH_MARGIN_SECONDS = 60.0
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
# FCM error codes that mean the device token itself is useless (the app was uninstalled, the token
# is malformed, or it belongs to another Firebase project). INVALID_ARGUMENT only counts when it is
# about the token (see _is_dead_token): otherwise the payload is at fault, for every token alike.
DEAD_TOKEN_CODES = frozenset({"UNREGISTERED", "SENDER_ID_MISMATCH"})
TOKEN_PREFIX_LENGTH = 8


@dataclass(frozen=True)
class ServiceAccount:
    """The parts of a Google service-account key file that sending needs."""

    client_email: str
    private_key: RSAPrivateKey = field(repr=False)
    project_id: str | None = None
    private_key_id: str | None = None
    token_uri: str | None = None

    @classmethod
    def load(cls, path: Path) -> ServiceAccount:
        """Read and check the key file; ValueError naming OVERTURE_FCM_CREDENTIALS_FILE if it is
        missing, unreadable, not JSON or has no usable RSA private key."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ValueError(f"{CREDENTIALS_SETTING}={path}: cannot read it ({error.strerror or error})") from error
        except ValueError as error:
            raise ValueError(f"{CREDENTIALS_SETTING}={path}: not a JSON service-account key") from error
        if not isinstance(document, dict):
            raise ValueError(f"{CREDENTIALS_SETTING}={path}: not a JSON service-account key")
        client_email, pem = document.get("client_email"), document.get("private_key")
        if not isinstance(client_email, str) or not client_email or not isinstance(pem, str) or not pem:
            raise ValueError(f"{CREDENTIALS_SETTING}={path}: the key needs client_email and private_key")
        try:
            key = serialization.load_pem_private_key(pem.encode(), password=None)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{CREDENTIALS_SETTING}={path}: private_key is not a PEM private key") from error
        if not isinstance(key, RSAPrivateKey):
            raise ValueError(f"{CREDENTIALS_SETTING}={path}: private_key is not an RSA key")
        return cls(
            client_email=client_email,
            private_key=key,
            project_id=_text(document.get("project_id")),
            private_key_id=_text(document.get("private_key_id")),
            token_uri=_text(document.get("token_uri")),
        )

    def assertion(self, token_uri: str, now: int) -> str:
        """The signed JWT that asks `token_uri` for an access token to FCM."""
        claims = {"iss": self.client_email, "scope": SCOPE, "aud": token_uri, "iat": now}
        claims["exp"] = now + ASSERTION_LIFETIME_SECONDS
        headers = {"kid": self.private_key_id} if self.private_key_id else None
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers=headers)


class _AccessTokens:
    """OAuth2 access tokens for the service account, cached until shortly before they expire; a
    lock makes concurrent sends wait for one fetch instead of each fetching."""

    def __init__(self, account: ServiceAccount, token_uri: str, client: httpx.AsyncClient) -> None:
        self._account = account
        self._token_uri = token_uri
        self._client = client
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._fresh_until = 0.0

    async def get(self) -> str:
        """A token that is still good, fetching one if needed."""
        async with self._lock:
            if self._token is None or time.monotonic() >= self._fresh_until:
                self._token, lifetime = await self._fetch()
                self._fresh_until = time.monotonic() + lifetime - min(REFRESH_MARGIN_SECONDS, lifetime / 2)
            return self._token

    def drop(self, token: str) -> None:
        """Forget `token` (FCM refused it), unless another send already replaced it."""
        if self._token == token:
            self._token = None

    async def _fetch(self) -> tuple[str, float]:
        """Exchange a fresh assertion for (access token, lifetime in seconds). A refusal (400/401,
        e.g. invalid_grant) is permanent; an outage transient, and never "maybe delivered"."""
        form = {"grant_type": GRANT_TYPE, "assertion": self._account.assertion(self._token_uri, int(time.time()))}
        source = "fcm token endpoint"
        try:
            response = await http.post(self._client, source, self._token_uri, data=form)
            http.check(response, source, _explain_oauth)
        except TransientProviderError as error:
            raise TransientProviderError(error.reason, retry_after=error.retry_after) from error
        try:
            body = response.json()
            token, lifetime = str(body["access_token"]), float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as error:
            raise TransientProviderError(f"{source} answered without an access token") from error
        return token, max(lifetime, 0.0)


class _DeadToken(Exception):
    """FCM refused one device token for good; the other tokens may still work."""


class FcmProvider:
    """Sends push notifications to every device token of the recipient through FCM HTTP v1."""

    name = "fcm"
    channels = frozenset({"push"})
    honours_idempotency_key = False

    def __init__(self, settings: FcmSettings) -> None:
        account = ServiceAccount.load(settings.credentials_file)
        project = settings.project_id or account.project_id
        if not project:
            raise ValueError(
                f"{CREDENTIALS_SETTING}={settings.credentials_file} has no project_id; set OVERTURE_FCM_PROJECT_ID"
            )
        self._url = f"{settings.base_url.rstrip('/')}/v1/projects/{project}/messages:send"
        self._client = http.http_client()
        if settings.timeout_seconds is not None:
            self._client.timeout = httpx.Timeout(settings.timeout_seconds)
        token_uri = settings.token_uri or account.token_uri or DEFAULT_TOKEN_URI
        self._tokens = _AccessTokens(account, token_uri, self._client)

    async def send(self, message: OutgoingMessage) -> Receipt:
        """Push to each device token in turn; the names FCM gave the accepted messages, joined by
        ",", are the receipt. Dead tokens are skipped; if all are dead the message is refused for
        good. A transient failure after a device accepted it is retried as "maybe delivered"."""
        if message.channel not in self.channels:
            raise PermanentProviderError(f"fcm does not deliver {message.channel!r} messages")
        tokens = list(dict.fromkeys(token.strip() for token in message.recipient.split(",") if token.strip()))
        if not tokens:
            raise PermanentProviderError("fcm: the recipient has no device tokens")
        accepted: list[str] = []
        dead: list[str] = []
        dead_tokens: list[str] = []
        for token in tokens:
            try:
                accepted.append(await self._send_one(token, message))
            except _DeadToken as error:
                dead.append(str(error))
                dead_tokens.append(token)
            except TransientProviderError as error:
                if not accepted:
                    raise
                raise TransientProviderError(
                    f"{error.reason} (after {len(accepted)} of {len(tokens)} devices accepted it)",
                    retry_after=error.retry_after,
                    maybe_delivered=True,
                ) from error
            except PermanentProviderError:
                if not accepted:
                    raise
                break  # refused for every device alike (e.g. permissions): keep what went out
        if not accepted:
            raise PermanentProviderError(
                "fcm: every device token is dead: " + "; ".join(dead), dead_addresses=tuple(dead_tokens)
            )
        return Receipt(provider_message_id=",".join(accepted), dead_addresses=tuple(dead_tokens))

    async def _send_one(self, token: str, message: OutgoingMessage) -> str:
        """Send to one device; its message name (`projects/.../messages/...`) on success. A 401
        means the access token went stale: fetch a new one and try once more."""
        body = {"message": _payload(token, message)}
        for attempt in range(2):
            access_token = await self._tokens.get()
            headers = {"Authorization": f"Bearer {access_token}"}
            response = await http.post(self._client, self.name, self._url, json=body, headers=headers)
            if response.status_code != 401 or attempt:
                break
            self._tokens.drop(access_token)
        if _is_dead_token(response):
            raise _DeadToken(f"device {_short(token)}: {_explain(response, token)}")
        http.check(response, self.name, lambda answer: _explain(answer, token))
        try:
            name = response.json()["name"]
        except (ValueError, KeyError, TypeError) as error:
            raise TransientProviderError("fcm accepted without a message name", maybe_delivered=True) from error
        return str(name)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def _payload(token: str, message: OutgoingMessage) -> dict[str, object]:
    """The FCM `message` for one device: the notification, and our key and journey as data."""
    notification = {"body": message.content.text}
    if message.content.subject:
        notification["title"] = message.content.subject
    data = {key: value for key, value in message.metadata.items() if isinstance(value, str)}
    data["overture_key"] = message.idempotency_key
    return {"token": token, "notification": notification, "data": data}


@dataclass(frozen=True)
class _FcmError:
    """FCM's error body: the google.rpc status, FCM's own errorCode and the fields it blames."""

    status: str
    code: str
    message: str
    fields: tuple[str, ...]


def _fcm_error(response: httpx.Response) -> _FcmError | None:
    """The parsed error body, or None if it is not FCM's JSON error."""
    try:
        error = response.json()["error"]
        details = [detail for detail in error.get("details", []) if isinstance(detail, dict)]
        status, message = str(error.get("status", "")), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    code = next((str(d.get("errorCode")) for d in details if d.get("@type") == FCM_ERROR_TYPE), status)
    fields = tuple(
        str(violation.get("field"))
        for detail in details
        if detail.get("@type") == BAD_REQUEST_TYPE
        for violation in detail.get("fieldViolations", [])
        if isinstance(violation, dict)
    )
    return _FcmError(status=status, code=code, message=message, fields=fields)


def _is_dead_token(response: httpx.Response) -> bool:
    """FCM says this device token cannot be sent to, now or later."""
    if response.is_success or response.status_code not in (400, 403, 404):
        return False
    error = _fcm_error(response)
    if error is None:
        return False
    if error.code in DEAD_TOKEN_CODES:
        return True
    about_token = "message.token" in error.fields or "registration token" in error.message.lower()
    return error.code == "INVALID_ARGUMENT" and about_token


def _explain(response: httpx.Response, token: str) -> str:
    """FCM's error code and message, with the device token (should FCM echo it) shortened."""
    error = _fcm_error(response)
    if error is None:
        text = response.text.strip()[:500] or response.reason_phrase
    else:
        text = f"{error.code}: {error.message}" if error.message else error.code
    return text.replace(token, _short(token)) if token else text


def _explain_oauth(response: httpx.Response) -> str:
    """The OAuth2 error and its description (e.g. `invalid_grant: Invalid JWT Signature.`)."""
    try:
        body = response.json()
        return f"{body['error']}: {body.get('error_description', '')}".rstrip(": ")
    except (ValueError, KeyError, TypeError):
        return response.text.strip()[:500] or response.reason_phrase


def _short(token: str) -> str:
    """The first few characters of a device token: enough to tell tokens apart in a log."""
    return token[:TOKEN_PREFIX_LENGTH] + "…"


def _text(value: object) -> str | None:
    """A non-empty string from the key file, else None."""
    return value if isinstance(value, str) and value else None
