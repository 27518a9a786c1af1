"""Slack: chat messages through the Web API's chat.postMessage, or an incoming webhook.

With a bot token, a message is one `POST {base_url}/chat.postMessage` (JSON, bearer token) to the
recipient: a member id (`U...`) opens the bot's DM with that person, a channel id (`C...`) posts
there. Slack answers HTTP 200 for most refusals too, with `{"ok": false, "error": "<code>"}`; a
few codes (rate limits, Slack's own failures) are worth retrying, the rest are permanent.

With only an incoming webhook URL, every message goes to the webhook's one fixed channel and the
recipient is ignored: meant for team alerts, not for customers. The webhook answers `ok`, or a
plain-text error code with a 4xx status. When both are configured, the bot token is used.

Slack has no idempotency key, so a call whose answer was lost may have posted the message. The
bot token and the webhook URL are secrets and never appear in an error reason.
"""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from activities.providers import http
from activities.providers.base import (
    OutgoingMessage,
    PermanentProviderError,
    Receipt,
    TransientProviderError,
)
from activities.providers.settings import SlackSettings

# chat.postMessage error codes worth retrying (https://api.slack.com/methods/chat.postMessage);
# every other code (channel_not_found, invalid_auth, is_archived, msg_too_long, ...) is permanent.
TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
# Slack says of these that "some aspect of the operation" may have succeeded before the error.
MAYBE_POSTED_ERRORS = frozenset({"internal_error", "fatal_error"})
WEBHOOK_RECEIPT = "webhook"


class SlackProvider:
    """Posts chat messages to Slack members and channels (bot token) or to one channel (webhook)."""

    name = "slack"
    channels = frozenset({"chat"})
    honours_idempotency_key = False

    def __init__(self, settings: SlackSettings) -> None:
        self._settings = settings
        self._url = f"{settings.base_url.rstrip('/')}/chat.postMessage"
        self._client = http.http_client()
        if settings.timeout_seconds is not None:
            self._client.timeout = httpx.Timeout(settings.timeout_seconds)

    async def send(self, message: OutgoingMessage) -> Receipt:
        """Post the message's text; the receipt is `channel:ts` (bot token) or `webhook`."""
        if message.channel not in self.channels:
            raise PermanentProviderError(f"slack does not deliver {message.channel!r} messages")
        if self._settings.bot_token is not None:
            return await self._post_message(self._settings.bot_token, message)
        if self._settings.webhook_url is None:
            raise PermanentProviderError("slack has neither OVERTURE_SLACK_BOT_TOKEN nor OVERTURE_SLACK_WEBHOOK_URL")
        return await self._post_webhook(self._settings.webhook_url, message)

    async def _post_message(self, bot_token: SecretStr, message: OutgoingMessage) -> Receipt:
        """chat.postMessage to the recipient (a member or channel id)."""
        channel = message.recipient.strip()
        if not channel:
            raise PermanentProviderError("slack: the recipient has no Slack member or channel id")
        headers = {
            "Authorization": f"Bearer {bot_token.get_secret_value()}",
            "Content-Type": "application/json; charset=utf-8",
        }
        body = {"channel": channel, "text": message.content.text, "mrkdwn": True}
        response = await http.post(self._client, self.name, self._url, json=body, headers=headers)
        http.check(response, self.name, _explain)
        answer = _json_object(response)
        if answer.get("ok") is True:
            ts, posted_in = answer.get("ts"), answer.get("channel")
            if not isinstance(ts, str) or not ts:
                raise TransientProviderError("slack accepted without a message ts", maybe_delivered=True)
            return Receipt(provider_message_id=f"{posted_in or channel}:{ts}")
        code = answer.get("error")
        if not isinstance(code, str) or not code:
            raise TransientProviderError("slack answered without ok or an error code", maybe_delivered=True)
        reason = f"slack refused: {_describe(code, answer)}"
        if code in TRANSIENT_ERRORS:
            raise TransientProviderError(
                reason, retry_after=http.retry_after(response), maybe_delivered=code in MAYBE_POSTED_ERRORS
            )
        raise PermanentProviderError(reason)

    async def _post_webhook(self, webhook_url: SecretStr, message: OutgoingMessage) -> Receipt:
        """POST the text to the incoming webhook (its channel is fixed; the recipient is ignored)."""
        body = {"text": message.content.text}
        response = await http.post(self._client, self.name, webhook_url.get_secret_value(), json=body)
        http.check(response, f"{self.name} webhook", _explain)
        return Receipt(provider_message_id=WEBHOOK_RECEIPT)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def _json_object(response: httpx.Response) -> dict[str, object]:
    """The response body as a JSON object; {} if it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _describe(code: str, answer: dict[str, object]) -> str:
    """Slack's error code, with the scope it wanted when the token lacks one."""
    needed = answer.get("needed")
    return f"{code} (needs scope {needed})" if code == "missing_scope" and needed else code


def _explain(response: httpx.Response) -> str:
    """Slack's reason for a non-2xx answer: the Web API's error code, or the webhook's text."""
    code = _json_object(response).get("error")
    if isinstance(code, str) and code:
        return code
    return response.text.strip()[:500] or response.reason_phrase
