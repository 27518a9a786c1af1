"""Shared HTTP plumbing for providers: one client, and one reading of status codes and errors."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from activities.providers.base import PermanentProviderError, TransientProviderError

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
MAX_RETRY_AFTER = timedelta(hours=1)


def http_client(**kwargs: object) -> httpx.AsyncClient:
    """An httpx client with sane timeouts for provider calls."""
    return httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, **kwargs)  # type: ignore[arg-type]


async def post(client: httpx.AsyncClient, provider: str, url: str, **kwargs: object) -> httpx.Response:
    """POST, turning transport failures into TransientProviderError (and saying whether the
    request may have reached the provider)."""
    try:
        return await client.post(url, **kwargs)  # type: ignore[arg-type]
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
        raise TransientProviderError(f"{provider} unreachable: {error!r}") from error
    except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError) as error:
        raise TransientProviderError(f"{provider} did not answer: {error!r}", maybe_delivered=True) from error


def check(response: httpx.Response, provider: str, explain: Callable[[httpx.Response], str] | None = None) -> None:
    """Raise the ProviderError a non-2xx response stands for: 429, 408 and 5xx are transient
    (429 with its Retry-After), any other 4xx is permanent. `explain` extracts the provider's
    reason from its error body."""
    if response.is_success:
        return
    reason = f"{provider} answered {response.status_code}: {(explain or _body_text)(response)}"
    if response.status_code in (408, 429) or response.status_code >= 500:
        raise TransientProviderError(reason, retry_after=retry_after(response))
    raise PermanentProviderError(reason)


def retry_after(response: httpx.Response, now: datetime | None = None) -> timedelta | None:
    """The Retry-After header (seconds or an HTTP date) as a delay, capped at an hour."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        delay = timedelta(seconds=float(value))
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        delay = moment - (now or datetime.now(UTC))
    return max(timedelta(), min(delay, MAX_RETRY_AFTER))


def _body_text(response: httpx.Response) -> str:
    return response.text.strip()[:500] or response.reason_phrase
